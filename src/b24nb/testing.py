"""Helpers for tests: small hand-made portals, demo frames, pairs builders, a raw HTTP caller.

These exist so tests can state exactly what the portal holds (instead of depending on the
demo generator) and can talk to the sandbox the way any client would — real HTTP on
127.0.0.1, no mocks of our own code. The pairs builder (:func:`make_pairs`) and the owners
reader (:func:`portal_owners`) are shared so that the bind and guard tests all build their
frames from the pairs contract and read the portal the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
import requests

from b24nb.pairs import COLUMNS, DEAL, UTC, pair_index

__all__ = ["BIND_COLUMNS", "binding_disagreements", "call", "demo_frames", "frames_from_records",
           "free_port", "make_pairs", "portal_owners", "scale_records", "scaled_portal",
           "score_against_truth", "tiny_records", "tiny_sandbox"]

_JAN1 = datetime(2025, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=3)))


def tiny_records(n_deals: int = 120, n_orders: int = 60) -> dict[str, list[dict[str, Any]]]:
    """A small, fully explicit portal: deals, contacts, companies, orders and bindings.

    Deal ``i`` has ``OPPORTUNITY = 100 * i``, currency RUB for even and USD for odd ``i``,
    contact ``i % 3 + 1`` and ``DATE_CREATE`` on day ``i`` of 2025 (UTC+3). Order ``j`` has
    ``price = 100 * j``, contact client ``j % 3 + 1``; orders 1..10 are bound to deal ``j``.
    """
    contacts = [
        {"ID": 1, "NAME": "Иван", "LAST_NAME": "Петров", "EMAIL": [{"VALUE": "ivan@example.ru"}],
         "PHONE": [{"VALUE": "+7 (900) 111-22-33"}]},
        {"ID": 2, "NAME": "Anna", "LAST_NAME": "Smith", "EMAIL": [{"VALUE": "anna@example.com"},
                                                                  {"VALUE": "a.smith@work.com"}]},
        {"ID": 3, "NAME": "Олег", "LAST_NAME": "Сидоров"},
    ]
    companies = [{"ID": 1, "TITLE": "ООО Ромашка", "PHONE": [{"VALUE": "+7 495 000-00-00"}]},
                 {"ID": 2, "TITLE": "Acme Ltd"}]
    deals = [{"ID": i, "TITLE": f"Deal {i}", "OPPORTUNITY": 100 * i,
              "CURRENCY_ID": "RUB" if i % 2 == 0 else "USD", "CONTACT_ID": i % 3 + 1,
              "COMPANY_ID": 1 if i % 10 == 0 else None,
              "DATE_CREATE": (_JAN1 + timedelta(days=i - 1)).isoformat(),
              "ASSIGNED_BY_ID": 1 + i % 4, "STAGE_ID": "WON" if i % 5 == 0 else "NEW"}
             for i in range(1, n_deals + 1)]
    orders = [{"id": j, "accountNumber": f"A-{j:04d}", "price": 100 * j,
               "currency": "RUB" if j % 2 == 0 else "USD",
               "dateInsert": f"2025-02-{1 + (j - 1) % 28:02d}T09:00:00+03:00", "userId": 1,
               "responsibleId": 2, "statusId": "N", "payed": j % 2 == 0, "canceled": False,
               "clients": [{"entityTypeId": 3, "entityId": j % 3 + 1}],
               "properties": {"NAME": f"Customer {j}", "EMAIL": f"c{j}@example.org",
                              "PHONE": f"+7 900 000 {j:04d}"}}
              for j in range(1, n_orders + 1)]
    bindings = [{"orderId": j, "ownerId": j, "ownerTypeId": 2} for j in range(1, 11)]
    return {"deals": deals, "contacts": contacts, "companies": companies, "orders": orders,
            "bindings": bindings}


def scale_records(n: int) -> dict[str, list[dict[str, Any]]]:
    """``n`` deals and ``n`` orders in API field names, cheap to make at portal scale (dense
    ids, one customer, a minute apart) — for the sandbox's scale test and benchmark."""
    deals = [{"ID": i, "TITLE": f"Deal {i}", "OPPORTUNITY": i % 9973, "CURRENCY_ID": "RUB",
              "CONTACT_ID": i % 5000 + 1, "DATE_CREATE": 1.7e9 + 60 * i} for i in range(1, n + 1)]
    orders = [{"id": i, "accountNumber": str(i), "price": i % 9973, "currency": "RUB",
               "dateInsert": 1.7e9 + 60 * i, "clients": [{"entityTypeId": 3, "entityId": 1}],
               "properties": {"NAME": "Ann Lee", "EMAIL": "a@b.c", "PHONE": "123"}}
              for i in range(1, n + 1)]
    return {"deals": deals, "orders": orders}


def call(url: str, method: str, params: dict[str, Any] | None = None, *,
         session: requests.Session | None = None, timeout: float = 10.0) -> requests.Response:
    """POST ``params`` as JSON to ``url + method`` and return the raw response."""
    poster = session or requests
    return poster.post(url + method, json=params or {}, timeout=timeout)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for "connection refused")."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scaled_portal(sb: Any, **options: Any) -> Any:
    """A :class:`~b24nb.portal.Portal` on sandbox ``sb`` whose clock runs at the sandbox's
    ``time_scale`` (waits take scaled real time, resets are on the sandbox's clock); no bars."""
    from b24nb.limits import ScaledClock
    from b24nb.portal import Portal

    return Portal(sb.url, progress=False, clock=ScaledClock(sb.time_scale, now=sb.clock),
                  **options)


def tiny_sandbox(**options: Any) -> Any:
    """A (not yet started) sandbox holding :func:`tiny_records`; limits and latency off.

    Use as ``with tiny_sandbox() as sb:``; ``options`` override Sandbox arguments.
    """
    from b24nb.sandbox import Sandbox

    kwargs: dict[str, Any] = {"demo": False, "limits": False, "latency": False,
                              **tiny_records()}
    kwargs.update(options)
    return Sandbox(**kwargs)


@pytest.fixture
def sb() -> Iterator[Any]:
    """Fixture: a started :func:`tiny_sandbox` (import it into a test module to use it)."""
    with tiny_sandbox() as portal:
        yield portal


# ---------------------------------------------------------------------------- demo frames
# Demo records as the loaders' typed frames, without a portal: for tests and benchmarks.
# Why: the matcher is scored on the sandbox's demo data against its ground truth at sizes
# (100,000 × 120,000) where going through HTTP would measure the portal's rate limit, not the
# matcher. The frames follow docs/contracts.md §Frames (the loaders' output) column by column.



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
        "DATE_CREATE": pd.to_datetime(d["DATE_CREATE"], utc=True).astype(UTC),
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
        "dateInsert": pd.to_datetime(o["dateInsert"], utc=True).astype(UTC),
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
                demo: Any = None, knobs: Any = None
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[int, int]]:
    """(deals, orders, bindings, truth) for the sandbox demo portal of these sizes.

    ``knobs`` picks the generator's distributions (a ``Mix`` or a preset name: ``"shop"``,
    ``"b2b"``; see :mod:`b24nb.sandbox.demo_mix`); ``demo`` reuses already generated data.
    """
    from b24nb.sandbox.demo import make_demo

    demo = demo or make_demo(seed=seed, n_deals=n_deals, n_orders=n_orders, knobs=knobs)
    deals, orders, bindings = frames_from_records(demo.deals, demo.orders, demo.contacts,
                                                  demo.bindings)
    return deals, orders, bindings, dict(demo.truth)


def score_against_truth(pairs: pd.DataFrame, truth: dict[int, int],
                        bindings: pd.DataFrame, auto_deal_ids: set[int] | None = None
                        ) -> dict[str, float]:
    """Quality of suggestions against the truth: the bars of issue 10.

    ``precision_selected`` (pre-ticked pairs that are true), ``recall_all`` (true pairs
    suggested at all), ``recall_selected`` (true pairs pre-ticked — rebinds cannot be, so this
    counts the orders that are not bound elsewhere today), ``recall_auto`` (orders bound today
    to an auto-created duplicate whose real deal is suggested; needs ``auto_deal_ids``).
    Orders already bound to their true deal need no suggestion and are left out.
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
    free = need[bound.reindex(need.index).isna().to_numpy(bool)]
    picked = set(zip(pairs["order_id"].to_numpy(np.int64)[ok & sel],
                     pairs["deal_id"].to_numpy(np.int64)[ok & sel], strict=True))
    out_auto = float("nan")
    if auto_deal_ids is not None:
        on_auto = need[bound.reindex(need.index).isin(list(auto_deal_ids)).fillna(False)
                       .to_numpy(bool)]
        out_auto = (sum((oid, did) in chosen for oid, did in on_auto.items()) / len(on_auto)
                    if len(on_auto) else 1.0)
    return {
        "recall_selected": (sum((oid, did) in picked for oid, did in free.items()) / len(free)
                            if len(free) else 1.0),
        "recall_auto": out_auto,
        "pairs": float(len(pairs)),
        "selected": float(sel.sum()),
        "precision_selected": float(ok[sel].mean()) if sel.any() else 1.0,
        "recall_all": found / len(need) if len(need) else 1.0,
        "precision_all": float(ok.mean()) if len(ok) else 1.0,
        "need": float(len(need)),
    }
def binding_disagreements(sandbox: Any, pairs: Any, journal: Any, *,
                          rows: Any = None) -> list[str]:
    """What the portal, the pairs frame and the journal disagree on (empty: they agree).

    For every row of ``pairs`` (or the labels ``rows``) that ``bind``/``unbind`` logged:
    the frame's ``current_owner_*`` is the owner the sandbox holds for that order, and its
    ``bind_status`` is the last status the journal recorded for that pair and order.
    Used by the guard tests and ``benchmarks/soak_bind.py``.
    """
    import pandas as pd

    portal = {b["orderId"]: (b["ownerId"], b["ownerTypeId"]) for b in sandbox.bindings()}
    h = journal.frame()
    h = h[h["status"].notna() & h["event"].isin(["answer", "settle", "note"])]
    last = {(int(p), int(o)): s for p, o, s in
            zip(h["pair_id"], h["order_id"], h["status"], strict=True) if pd.notna(p)}
    out: list[str] = []
    frame = pairs if rows is None else pairs.loc[rows]
    for pid, row in frame[frame["bind_status"].notna()].iterrows():
        oid = int(row["order_id"])
        have = (None if pd.isna(row["current_owner_id"])
                else (int(row["current_owner_id"]), int(row["current_owner_type_id"])))
        if have != portal.get(oid):
            out.append(f"pair {pid}: frame shows owner {have}, portal {portal.get(oid)}")
        status = row["bind_status"]
        if status not in ("dry_run",) and last.get((int(pid), oid)) != status:
            out.append(f"pair {pid}: frame says {status}, journal "
                       f"{last.get((int(pid), oid))}")
    return out


#: the columns of :func:`make_pairs`: the pair, its owner as the frame shows it, the tick —
#: the ones ``bind`` reads or writes besides its log
BIND_COLUMNS = ("deal_id", "order_id", "owner_type_id", "current_owner_id",
                "current_owner_type_id", "rebind", "selected")


def make_pairs(orders: int | Iterable[int] | Iterable[tuple[int, int]],
               deal_of: Callable[[int], int] | Mapping[int, int] | None = None, *,
               first: int = 1, first_pair: int = 0, selected: bool | Sequence[bool] = True,
               owner_type_id: int = DEAL) -> pd.DataFrame:
    """A small pairs frame for ``bind``/``unbind`` tests: :data:`BIND_COLUMNS` in contract dtypes.

    ``orders`` is one of: ``n``, for orders ``first … first + n − 1``; order ids; or explicit
    ``(deal_id, order_id)`` tuples (then ``deal_of`` must be None). ``deal_of`` (a function
    or a mapping) gives each order's deal, the order's own id by default. No row shows a
    current owner; ``rebind`` is False; ``selected`` is one tick for all rows or one per row.
    ``pair_id`` is ``first_pair …`` (a second frame may continue the first's numbering).
    """
    if isinstance(orders, int):
        orders = range(first, first + orders)
    items = list(orders)
    if items and isinstance(items[0], tuple):
        if deal_of is not None:
            raise ValueError("give (deal_id, order_id) tuples or deal_of, not both")
        deals, order_ids = [int(d) for d, _ in items], [int(o) for _, o in items]
    else:
        order_ids = [int(o) for o in items]  # type: ignore[arg-type]
        pick = (deal_of.__getitem__ if isinstance(deal_of, Mapping) else deal_of) or int
        deals = [int(pick(o)) for o in order_ids]
    n = len(order_ids)
    ticks = [selected] * n if isinstance(selected, bool) else list(selected)
    values = {"deal_id": deals, "order_id": order_ids, "owner_type_id": [owner_type_id] * n,
              "current_owner_id": [None] * n, "current_owner_type_id": [None] * n,
              "rebind": [False] * n, "selected": ticks}
    return pd.DataFrame({c: pd.array(values[c], dtype=COLUMNS[c]) for c in BIND_COLUMNS},
                        index=pair_index(n, first_pair))


def portal_owners(sandbox: Any, *, with_type: bool = False
                  ) -> dict[int, int] | dict[int, tuple[int, int]]:
    """Each bound order's owner as the sandbox holds it: ``{order_id: owner_id}``.

    ``with_type=True`` gives ``{order_id: (owner_id, owner_type_id)}``, for tests where the
    owner's type matters (a deal and an invoice may share an id).
    """
    if with_type:
        return {b["orderId"]: (b["ownerId"], b["ownerTypeId"]) for b in sandbox.bindings()}
    return {b["orderId"]: b["ownerId"] for b in sandbox.bindings()}
