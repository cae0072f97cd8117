"""suggest(decisions=...) and suggest(invoices=...): the contracts agreed with issues 15 and 16.

Decisions and invoices are built as frames in the contracts' shape (the loader of invoices and
the store of decisions are written by other engineers at the same time).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from b24nb.errors import ValidationError
from b24nb.match import suggest
from b24nb.sandbox.demo import make_demo
from b24nb.testing import demo_frames, score_against_truth
from test_match_rules import T0, bindings, deals, orders

UTC = "datetime64[ns, UTC]"


def decisions(rows: list[tuple[int, int, str]], *, owner_type: int = 2,
              at: list[pd.Timestamp] | None = None) -> pd.DataFrame:
    """(order_id, deal_id, decision) rows → the decisions contract's frame."""
    n = len(rows)
    return pd.DataFrame({
        "order_id": pd.array([r[0] for r in rows], dtype="Int64"),
        "deal_id": pd.array([r[1] for r in rows], dtype="Int64"),
        "owner_type_id": pd.array([owner_type] * n, dtype="Int64"),
        "decision": pd.array([r[2] for r in rows], dtype="string"),
        "decided_at": pd.Series(at or [T0 + pd.Timedelta(minutes=i) for i in range(n)],
                                dtype=UTC),
    })


def _two_candidates() -> tuple[pd.DataFrame, pd.DataFrame]:
    d = deals({1: {"OPPORTUNITY": 5000.0, "contact_email": "a@a.ru"},
               2: {"OPPORTUNITY": 5000.0, "contact_email": "a@a.ru", "day": -3}})
    return d, orders({10: {"price": 5000.0, "customer_email": "a@a.ru"}})


def test_a_rejected_pair_is_never_suggested_again_and_the_next_deal_is() -> None:
    d, o = _two_candidates()
    assert suggest(d, o)["deal_id"].iloc[0] == 1
    p = suggest(d, o, decisions=decisions([(10, 1, "reject")]))
    assert 1 not in p["deal_id"].tolist()
    assert p["deal_id"].tolist() == [2]


def test_unsure_changes_nothing_and_the_newest_decision_wins() -> None:
    d, o = _two_candidates()
    plain = suggest(d, o)
    pd.testing.assert_frame_equal(suggest(d, o, decisions=decisions([(10, 1, "unsure")])),
                                  plain, check_like=True)
    again = decisions([(10, 1, "reject"), (10, 1, "unsure")])
    assert suggest(d, o, decisions=again)["deal_id"].iloc[0] == 1
    # rows out of time order: decided_at, not row order, says which is newest
    late = decisions([(10, 1, "unsure"), (10, 1, "reject")],
                     at=[T0 + pd.Timedelta(hours=2), T0])
    assert suggest(d, o, decisions=late)["deal_id"].iloc[0] == 1


def test_a_rejection_of_an_invoice_does_not_reject_the_deal_with_the_same_id() -> None:
    d, o = _two_candidates()
    p = suggest(d, o, decisions=decisions([(10, 1, "reject")], owner_type=31))
    assert p["deal_id"].iloc[0] == 1


def test_bad_decisions_are_refused_by_name() -> None:
    d, o = _two_candidates()
    with pytest.raises(ValidationError, match="decision"):
        suggest(d, o, decisions=decisions([(10, 1, "maybe")]))
    with pytest.raises(ValidationError, match="order_id"):
        suggest(d, o, decisions=pd.DataFrame({"deal_id": [1], "decision": ["reject"]}))


def test_accepted_pairs_teach_the_model_what_a_match_looks_like() -> None:
    """On a portal whose true pairs lag weeks (B2B), accepted pairs move m towards that lag."""
    demo = make_demo(seed=21, knobs="b2b")
    deals_, orders_, bindings_, truth = demo_frames(demo=demo)
    base = suggest(deals_, orders_, bindings_).attrs["model"]
    sure = list(truth.items())[:300]
    known = decisions([(o, d, "accept") for o, d in sure])
    p = suggest(deals_, orders_, bindings_, decisions=known)
    taught = p.attrs["model"]
    assert taught.labelled >= 250
    assert not np.allclose(taught.m["date"], base.m["date"])
    q = score_against_truth(p, truth, bindings_, demo.auto_deal_ids)
    assert q["precision_selected"] >= 0.98
    assert q["recall_all"] >= 0.95


def test_bind_results_in_a_pairs_frame_count_as_accepted() -> None:
    d, o = _two_candidates()
    done = suggest(d, o)[["order_id", "deal_id", "owner_type_id"]].assign(
        decision=pd.array([pd.NA], dtype="string"), bind_status="bound")
    p = suggest(d, o, decisions=done)
    assert p.attrs["model"].labelled >= 1


# ---------------------------------------------------------------------------- invoices


def smart_invoices(rows: dict[int, dict]) -> pd.DataFrame:
    """{invoice_id: fields} → a frame in the shape of load_invoices(kind="smart")."""
    base = {"title": "Счёт", "accountNumber": None, "opportunity": 1000.0, "currencyId": "RUB",
            "contactId": None, "companyId": None, "assignedById": 1, "createdTime": T0,
            "stageId": "DT31_1:N", "contact_name": None, "contact_email": None,
            "contact_emails": None, "contact_phone": None, "contact_phones": None}
    return _typed(rows, base, ints=("contactId", "companyId", "assignedById"),
                  money="opportunity", date="createdTime", kind=31)


def legacy_invoices(rows: dict[int, dict]) -> pd.DataFrame:
    """{invoice_id: fields} → a frame in the shape of load_invoices(kind="legacy")."""
    base = {"ACCOUNT_NUMBER": None, "ORDER_TOPIC": "Счёт", "PRICE": 1000.0, "CURRENCY": "RUB",
            "UF_CONTACT_ID": None, "UF_COMPANY_ID": None, "RESPONSIBLE_ID": 1,
            "DATE_INSERT": T0, "STATUS_ID": "N", "contact_email": None}
    return _typed(rows, base, ints=("UF_CONTACT_ID", "UF_COMPANY_ID", "RESPONSIBLE_ID"),
                  money="PRICE", date="DATE_INSERT", kind=5)


def _typed(rows: dict[int, dict], base: dict, *, ints: tuple[str, ...], money: str, date: str,
           kind: int) -> pd.DataFrame:
    """Rows over defaults, typed as the loaders type them, with ``owner_type_id``."""
    frame = pd.DataFrame([{**base, **r} for r in rows.values()], columns=list(base))
    for col in frame.columns:
        if col in ints:
            frame[col] = pd.array(frame[col].tolist(), dtype="Int64")
        elif col == money:
            frame[col] = frame[col].astype("float64")
        elif col == date:
            frame[col] = pd.to_datetime(frame[col], utc=True).astype(UTC)
        else:
            frame[col] = frame[col].astype("string")
    frame["owner_type_id"] = pd.array([kind] * len(frame), dtype="Int64")
    frame.index = pd.Index(pd.array(list(rows), dtype="Int64"), name="invoice_id")
    return frame


def test_an_order_can_belong_to_a_smart_invoice_and_one_owner_wins() -> None:
    d = deals({1: {"OPPORTUNITY": 7000.0, "contact_email": "x@x.ru"}})
    inv = smart_invoices({1: {"opportunity": 5000.0, "contact_email": "a@a.ru",
                              "title": "Счёт № 10 от 02.06.2025"}})
    o = orders({10: {"price": 5000.0, "customer_email": "a@a.ru"},
                11: {"price": 7000.0, "customer_email": "x@x.ru"}})
    p = suggest(d, o, invoices=inv)
    got = p.set_index("order_id")[["deal_id", "owner_type_id"]].to_dict("index")
    assert got[10] == {"deal_id": 1, "owner_type_id": 31}  # invoice 1, not deal 1
    assert got[11] == {"deal_id": 1, "owner_type_id": 2}
    assert p["order_id"].is_unique
    assert "order № in the deal title" in p.set_index("order_id").loc[10, "reasons"]


def test_legacy_invoices_and_a_list_of_frames() -> None:
    d = deals({1: {"OPPORTUNITY": 7000.0}})
    leg = legacy_invoices({3: {"PRICE": 5000.0, "contact_email": "a@a.ru"}})
    smart = smart_invoices({3: {"opportunity": 9000.0, "contact_email": "b@b.ru"}})
    o = orders({10: {"price": 5000.0, "customer_email": "a@a.ru"},
                12: {"price": 9000.0, "customer_email": "b@b.ru"}})
    p = suggest(d, o, invoices=[smart, leg]).set_index("order_id")
    assert (p.loc[10, "deal_id"], p.loc[10, "owner_type_id"]) == (3, 5)
    assert (p.loc[12, "deal_id"], p.loc[12, "owner_type_id"]) == (3, 31)


def test_an_order_bound_to_an_invoice_and_suggested_for_it_is_not_suggested_again() -> None:
    inv = smart_invoices({4: {"opportunity": 5000.0, "contact_email": "a@a.ru"}})
    o = orders({10: {"price": 5000.0, "customer_email": "a@a.ru"}})
    b = bindings({10: 4})
    b["owner_type_id"] = pd.array([31], dtype="Int64")
    assert suggest(deals({}), o, b, invoices=inv).empty
    b["owner_type_id"] = pd.array([2], dtype="Int64")  # bound to deal 4: a rebind to invoice 4
    p = suggest(deals({}), o, b, invoices=inv)
    assert p["rebind"].tolist() == [True]


def test_an_invoices_frame_without_its_amount_is_refused_by_name() -> None:
    inv = smart_invoices({1: {}}).drop(columns=["opportunity"])
    with pytest.raises(ValidationError, match="opportunity"):
        suggest(deals({1: {}}), orders({10: {}}), invoices=inv)


def test_sandbox_invoices_loaded_over_http_win_their_orders() -> None:
    """The demo portal's smart and legacy invoices, through load_invoices, against truth_owner."""
    import b24nb
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=0, limits=False, latency=False) as sb:
        portal = b24nb.connect(sb.url, progress=False)
        frames = [b24nb.load_deals(portal, progress=False),
                  b24nb.load_orders(portal, progress=False),
                  b24nb.load_bindings(portal, progress=False)]
        invoices = [b24nb.load_invoices(portal, kind=k, progress=False)
                    for k in ("smart", "legacy")]
        truth = dict(sb.truth_owner)
    deals_, orders_, bindings_ = frames
    p = suggest(deals_, orders_, bindings_, invoices=invoices)
    now = {int(o): (int(t), int(d)) for o, d, t in zip(
        bindings_.index, bindings_["owner_id"].fillna(-1), bindings_["owner_type_id"].fillna(-1),
        strict=True)}
    got = {(int(o), (int(t), int(d))) for o, t, d in zip(
        p["order_id"], p["owner_type_id"], p["deal_id"], strict=True)}
    for kind in (31, 5):
        need = {o: v for o, v in truth.items() if v[0] == kind and now.get(o) != v}
        assert len(need) > 10
        assert sum((o, v) in got for o, v in need.items()) >= 0.95 * len(need)
    sel = p[p["selected"].fillna(False)]
    right = [truth.get(int(o)) == (int(t), int(d)) for o, t, d in zip(
        sel["order_id"], sel["owner_type_id"], sel["deal_id"], strict=True)]
    assert np.mean(right) >= 0.98
    clear = p[~p["ambiguous"].fillna(False) & ~p["reasons"].str.contains("shared")]
    assert clear["order_id"].is_unique  # one owner per order, whatever its type
