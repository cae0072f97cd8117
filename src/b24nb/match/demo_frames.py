"""Demo records as the loaders' typed frames, without a portal: for tests and benchmarks.

Why: the matcher is scored on the sandbox's demo data against its ground truth at sizes
(100,000 × 120,000) where going through HTTP would measure the portal's rate limit, not the
matcher. The frames follow docs/contracts.md §Frames (the loaders' output) column by column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.sandbox.demo import DemoData, make_demo

__all__ = ["demo_frames", "frames_from_records"]

_UTC = "datetime64[ns, UTC]"


def _digits(values: pd.Series) -> pd.Series:
    out = values.astype("string").str.replace(r"\D+", "", regex=True)
    return out.where(out != "")


def _first_and_all(lists: list[list[dict]], norm: str) -> tuple[pd.Series, pd.Series]:
    first, joined = [], []
    for items in lists:
        vals = [str(x.get("VALUE") or "").strip() for x in items or ()]
        vals = [v for v in vals if v]
        if norm == "email":
            vals = [v.lower() for v in vals]
        else:
            vals = ["".join(ch for ch in v if ch.isdigit()) for v in vals]
        vals = list(dict.fromkeys(v for v in vals if v))
        first.append(vals[0] if vals else None)
        joined.append(";".join(vals) if vals else None)
    return pd.Series(first, dtype="string"), pd.Series(joined, dtype="string")


def frames_from_records(deals: list[dict], orders: list[dict], contacts: list[dict],
                        bindings: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """API-named records → (deals, orders, bindings) frames typed like the loaders'."""
    people = pd.DataFrame({
        "contact_name": pd.Series([" ".join(str(c.get(k) or "").strip() for k in
                                            ("NAME", "LAST_NAME") if c.get(k))
                                   for c in contacts], dtype="string").to_numpy(),
    }, index=pd.Index([c["ID"] for c in contacts], dtype="Int64"))
    people["contact_name"] = people["contact_name"].where(people["contact_name"] != "")
    for prefix, key, norm in (("contact_email", "EMAIL", "email"),
                              ("contact_phone", "PHONE", "phone")):
        first, joined = _first_and_all([c.get(key) or [] for c in contacts], norm)
        people[prefix] = first.to_numpy()
        people[prefix + "s"] = joined.to_numpy()
    people = people.astype(dict.fromkeys(people.columns, "string"))

    d = pd.DataFrame(deals)
    df = pd.DataFrame({
        "TITLE": d["TITLE"].astype("string"),
        "OPPORTUNITY": d["OPPORTUNITY"].astype("float64"),
        "CURRENCY_ID": d["CURRENCY_ID"].astype("string"),
        "CONTACT_ID": pd.array(d["CONTACT_ID"], dtype="Int64"),
        "COMPANY_ID": pd.array(d["COMPANY_ID"], dtype="Int64"),
        "ASSIGNED_BY_ID": pd.array(d["ASSIGNED_BY_ID"], dtype="Int64"),
        "STAGE_ID": d["STAGE_ID"].astype("string"),
        "DATE_CREATE": pd.to_datetime(d["DATE_CREATE"], utc=True).astype(_UTC),
    })
    df.index = pd.Index(pd.array(d["ID"], dtype="Int64"), name="deal_id")
    joined = people.reindex(df["CONTACT_ID"].to_numpy())
    for c in people.columns:
        df[c] = joined[c].to_numpy()
    df = df.astype(dict.fromkeys(people.columns, "string"))

    o = pd.DataFrame(orders)
    props = pd.DataFrame(list(o["properties"]))
    contact = [next((c["entityId"] for c in cl if c["entityTypeId"] == 3), None)
               for cl in o["clients"]]
    company = [next((c["entityId"] for c in cl if c["entityTypeId"] == 4), None)
               for cl in o["clients"]]
    of = pd.DataFrame({
        "accountNumber": o["accountNumber"].astype("string"),
        "price": o["price"].astype("float64"),
        "currency": o["currency"].astype("string"),
        "dateInsert": pd.to_datetime(o["dateInsert"], utc=True).astype(_UTC),
        "userId": pd.array(o["userId"], dtype="Int64"),
        "responsibleId": pd.array(o["responsibleId"], dtype="Int64"),
        "statusId": o["statusId"].astype("string"),
        "payed": pd.array(o["payed"] == "Y", dtype="boolean"),
        "canceled": pd.array(o["canceled"] == "Y", dtype="boolean"),
        "contact_id": pd.array(contact, dtype="Int64"),
        "company_id": pd.array(company, dtype="Int64"),
        "customer_name": props["NAME"].astype("string").str.strip(),
        "customer_email": props["EMAIL"].astype("string").str.strip().str.lower(),
        "customer_phone": _digits(props["PHONE"]),
    })
    of.index = pd.Index(pd.array(o["id"], dtype="Int64"), name="order_id")

    b = pd.DataFrame(bindings, columns=["orderId", "ownerId", "ownerTypeId"])
    bf = pd.DataFrame({"owner_id": pd.array(b["ownerId"], dtype="Int64"),
                       "owner_type_id": pd.array(b["ownerTypeId"], dtype="Int64")})
    bf.index = pd.Index(pd.array(b["orderId"], dtype="Int64"), name="order_id")
    return df, of, bf


def demo_frames(seed: int = 0, n_deals: int = 2000, n_orders: int = 2400, *,
                demo: DemoData | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[int, int]]:
    """(deals, orders, bindings, truth) for the sandbox demo portal of these sizes."""
    demo = demo or make_demo(seed=seed, n_deals=n_deals, n_orders=n_orders)
    deals, orders, bindings = frames_from_records(demo.deals, demo.orders, demo.contacts,
                                                  demo.bindings)
    return deals, orders, bindings, dict(demo.truth)


def score_against_truth(pairs: pd.DataFrame, truth: dict[int, int],
                        bindings: pd.DataFrame) -> dict[str, float]:
    """Precision of pre-ticked pairs and recall of all suggestions, against the truth.

    Orders already bound to their true deal need no suggestion and are left out of recall.
    """
    t = pd.Series(truth, dtype="int64")
    bound = bindings["owner_id"].astype("Int64").reindex(t.index)
    need = t[(bound.isna() | (bound != t)).fillna(True).to_numpy(bool)]
    ok = pairs["deal_id"].to_numpy(np.int64) == t.reindex(
        pairs["order_id"].to_numpy(np.int64)).fillna(-1).to_numpy(np.int64)
    sel = pairs["selected"].fillna(False).to_numpy(bool)
    chosen = set(zip(pairs["order_id"].to_numpy(np.int64)[ok],
                     pairs["deal_id"].to_numpy(np.int64)[ok], strict=True))
    found = sum((oid, did) in chosen for oid, did in need.items())
    return {
        "pairs": float(len(pairs)),
        "selected": float(sel.sum()),
        "precision_selected": float(ok[sel].mean()) if sel.any() else 1.0,
        "recall_all": found / len(need) if len(need) else 1.0,
        "precision_all": float(ok.mean()) if len(ok) else 1.0,
        "need": float(len(need)),
    }
