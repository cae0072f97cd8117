"""Portal.list while the portal's data changes under it: never short, never doubled.

Each test wraps ``portal.batch``/``portal.call_full`` to change the sandbox's rows between two
real HTTP requests, the way another user editing the CRM would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from b24nb.errors import ListIncompleteError, ValidationError
from b24nb.portal import CommandResult, Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import scaled_portal


def ids(rows) -> list[int]:
    return [int(r["ID"]) for r in rows]


def sql(sb: Sandbox, statement: str, *args) -> None:
    sb._backend.store.execute(statement, list(args))


def before_batch(portal: Portal, n: int, action) -> list[dict]:
    """Run ``action()`` just before the ``n``-th batch request (1-based); record every batch."""
    real = portal.batch
    sent: list[dict] = []

    def batch(cmds, *, halt=False):
        sent.append(dict(cmds))
        if len(sent) == n:
            action()
        return real(cmds, halt=halt)

    portal.batch = batch  # type: ignore[method-assign]
    return sent


@pytest.fixture
def evens() -> Iterator[Sandbox]:
    # 6,000 deals; the even IDs up to 5,100 are in EUR: a sparse filtered list of 2,550 rows
    # whose one walked range holds exactly 2,500 (a full chain of 50 pages)
    deals = [{"ID": i, "TITLE": f"d{i}", "CURRENCY_ID": "EUR" if i % 2 == 0 and i <= 5100
              else "RUB", "OPPORTUNITY": 1.0} for i in range(1, 6001)]
    with Sandbox(deals=deals, demo=False, limits=False, latency=False) as sb:
        yield sb


def test_a_row_joining_a_sparse_range_does_not_push_a_matching_row_out(evens):
    portal = scaled_portal(evens, max_workers=1)
    flt = {"CURRENCY_ID": "EUR"}
    # probe (1), count (2), then the walk: ID 101 starts to match before the walk's request
    before_batch(portal, 3, lambda: sql(evens, 'UPDATE deals SET "CURRENCY_ID" = ? '
                                        'WHERE "ID" = ?', "EUR", 101))
    got = ids(portal.list("crm.deal.list", {"filter": flt, "select": ["ID"]}))
    assert len(got) == len(set(got))
    # every deal that matched from start to end is there — 5,100 included, the last one
    assert set(range(2, 5101, 2)) <= set(got)
    assert 101 in got


def test_rows_deleted_during_a_dense_walk_leave_no_gap_and_no_duplicate(small_sandbox):
    with Sandbox(seed=4, n_deals=9000, n_orders=10, limits=False, latency=False) as sb:
        portal = scaled_portal(sb, max_workers=1)
        gone = {60, 2600, 2601, 5150, 8999, 9000}
        before_batch(portal, 2, lambda: [sql(sb, 'DELETE FROM deals WHERE "ID" = ?', i)
                                         for i in gone])
        got = ids(portal.list("crm.deal.list", {"select": ["ID"]}))
    assert got == [i for i in range(1, 9001) if i not in gone]


def test_rows_deleted_during_a_sparse_walk_leave_no_gap_and_no_duplicate(evens):
    portal = scaled_portal(evens, max_workers=1)
    gone = {104, 2000, 5100}
    before_batch(portal, 3, lambda: [sql(evens, 'DELETE FROM deals WHERE "ID" = ?', i)
                                     for i in gone])
    got = ids(portal.list("crm.deal.list", {"filter": {"CURRENCY_ID": "EUR"},
                                            "select": ["ID"]}))
    assert got == [i for i in range(2, 5101, 2) if i not in gone]


def test_rows_added_during_the_walk_are_left_out_without_duplicates(small_sandbox):
    portal = scaled_portal(small_sandbox, max_workers=1)
    add = lambda: small_sandbox._backend.store.add_deals(  # noqa: E731
        [{"TITLE": "late", "CURRENCY_ID": "RUB", "OPPORTUNITY": 1.0}] * 3)
    before_batch(portal, 2, add)
    got = ids(portal.list("crm.deal.list", {"select": ["ID"]}))
    assert got == list(range(1, 201))  # the snapshot of the probe, exactly


def test_when_the_highest_row_vanishes_from_the_probe_the_walk_goes_to_the_end(small_sandbox):
    portal = scaled_portal(small_sandbox, max_workers=1)
    real = portal.batch

    def batch(cmds, *, halt=False):
        res = real(cmds, halt=halt)
        if "tail" in res:  # as if the top row was deleted between the two probe commands
            t = res["tail"]
            res["tail"] = CommandResult(t.key, t.method, True, [], None, t.time)
        return res

    portal.batch = batch  # type: ignore[method-assign]
    assert ids(portal.list("crm.deal.list", {"select": ["ID"]})) == list(range(1, 201))


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({">=ID": 60, "<=ID": 130}, range(60, 131)),
        ({">id": 59, "<id": 131}, range(60, 131)),  # the legacy CRM reads any letter case
        ({">ID": "59", "<=ID": 130, ">=ID": 40}, range(60, 131)),  # the tighter bound wins
    ],
)
def test_user_id_bounds_in_any_form_narrow_the_walk(small_sandbox, flt, expected):
    portal = scaled_portal(small_sandbox)
    sent = before_batch(portal, 0, lambda: None)
    assert ids(portal.list("crm.deal.list", {"filter": flt, "select": ["ID"]})) == list(expected)
    for cmds in sent:  # the user's bounds never sit beside the walk's own (one key wins)
        for _, params in cmds.values():
            keys = [k for k in params["filter"] if k.upper().endswith("ID")]
            assert all(k in (">ID", "<ID") for k in keys)


def test_a_non_numeric_id_bound_is_refused_before_any_request(small_sandbox):
    portal = scaled_portal(small_sandbox)
    small_sandbox.stats.reset()
    with pytest.raises(ValidationError, match="whole number"):
        list(portal.list("crm.deal.list", {"filter": {">ID": "abc"}}))
    assert small_sandbox.stats.http_requests == 0


#: a user order other than orderId keeps crm.orderentity.list on offset pages (by default it is
#: walked as a keyset on orderId, which a delete cannot shift)
_BY_OWNER = {"order": {"ownerId": "ASC"}}


def test_offset_pages_raise_when_a_row_is_deleted_while_they_are_read(small_sandbox):
    portal = scaled_portal(small_sandbox, max_workers=1)
    bindings = small_sandbox.bindings()
    assert len(bindings) > 50  # more than one page
    first = min(b["orderId"] for b in bindings)
    real = portal.call_full

    def call_full(method, params=None):
        res = real(method, params)
        if method == "crm.orderentity.list":  # after the first page, one row goes away
            sql(small_sandbox, 'DELETE FROM bindings WHERE "orderId" = ?', first)
        return res

    portal.call_full = call_full  # type: ignore[method-assign]
    with pytest.raises(ListIncompleteError) as exc:
        list(portal.list("crm.orderentity.list", _BY_OWNER))
    assert exc.value.error.code == "LIST_CHANGED"
    assert len(exc.value.rows) >= 50


def test_a_user_order_on_a_non_unique_field_gets_the_id_as_tie_breaker(small_sandbox):
    portal = scaled_portal(small_sandbox)
    seen: list[dict] = []
    real_call, real_batch = portal.call_full, portal.batch

    def call_full(method, params=None):
        seen.append(dict(params or {}))
        return real_call(method, params)

    def batch(cmds, *, halt=False):
        seen.extend(dict(p) for _, p in cmds.values())
        return real_batch(cmds, halt=halt)

    portal.call_full, portal.batch = call_full, batch  # type: ignore[method-assign]
    got = ids(portal.list("crm.deal.list", {"order": {"STAGE_ID": "DESC"},
                                            "select": ["ID", "STAGE_ID"]}))
    assert sorted(got) == list(range(1, 201))
    assert all(p["order"] == {"STAGE_ID": "DESC", "ID": "ASC"} for p in seen)


def test_offset_pages_read_every_page_when_the_portal_omits_next(small_sandbox):
    portal = scaled_portal(small_sandbox)
    real = portal.call_full

    def call_full(method, params=None):
        res = real(method, params)
        return type(res)(res.result, res.total, None, res.time)  # total, but no next

    portal.call_full = call_full  # type: ignore[method-assign]
    rows = list(portal.list("crm.orderentity.list", _BY_OWNER))
    assert len(rows) == len(small_sandbox.bindings())


def test_offset_pages_follow_next_when_the_portal_does_not_count(small_sandbox):
    portal = scaled_portal(small_sandbox)
    real = portal.call_full

    def call_full(method, params=None):
        res = real(method, params)
        return type(res)(res.result, None, res.next, res.time)  # next, but no total

    portal.call_full = call_full  # type: ignore[method-assign]
    rows = list(portal.list("crm.orderentity.list", _BY_OWNER))
    assert len(rows) == len(small_sandbox.bindings())
    assert len({r["orderId"] for r in rows}) == len(rows)


def test_order_properties_are_walked_by_id(small_sandbox):
    portal = scaled_portal(small_sandbox)
    sent = before_batch(portal, 0, lambda: None)
    rows = list(portal.list("sale.propertyvalue.list", {"select": ["orderId", "code"]}))
    n = small_sandbox._backend.store.count("order_props")
    assert len(rows) == n
    assert all(set(r) == {"orderId", "code"} for r in rows)  # the id it needed, removed again
    assert any(p.get("start") == -1 for cmds in sent for _, p in cmds.values())
