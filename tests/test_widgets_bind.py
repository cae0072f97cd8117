"""The review grid's write path against the real sandbox portal over HTTP.

Ticks and clicks go through the widget objects (no kernel needed); every claim is checked on
the pairs frame *and* on the sandbox's own store, so a widget that only looks right fails.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.widgets import MatchPicker, review
from b24nb.widgets._synthetic import synthetic_pairs


def pairs_from_truth(sb, portal, n_orders: int = 20) -> pd.DataFrame:
    """A contract-shaped frame: each order with its true deal (0.95) and a decoy (0.6)."""
    bindings = b24nb.load_bindings(portal, progress=False)
    order_ids, deal_ids, scores = [], [], []
    for order in sorted(sb.truth)[:n_orders]:
        deal = sb.truth[order]
        order_ids += [order, order]
        deal_ids += [deal, deal + 1]
        scores += [0.95, 0.6]
    frame = synthetic_pairs(len(order_ids), seed=0)
    frame["deal_id"] = pd.array(deal_ids, dtype="Int64")
    frame["order_id"] = pd.array(order_ids, dtype="Int64")
    frame["order_number"] = pd.array([str(o) for o in order_ids], dtype="string")
    frame["score"] = np.array(scores)
    owner = bindings["owner_id"].reindex(order_ids).to_numpy()
    frame["current_owner_id"] = pd.array(owner, dtype="Int64")
    frame["current_owner_type_id"] = pd.array(
        bindings["owner_type_id"].reindex(order_ids).to_numpy(), dtype="Int64")
    frame["current_owner_auto"] = pd.array([False] * len(frame), dtype="boolean")
    frame["rebind"] = pd.array(pd.notna(owner) & (owner != np.array(deal_ids)),
                               dtype="boolean")
    return frame


@pytest.fixture
def portal(small_sandbox):
    return b24nb.connect(small_sandbox.url, progress=False)


@pytest.fixture
def pairs(small_sandbox, portal):
    return pairs_from_truth(small_sandbox, portal)


@pytest.fixture
def picker(pairs, portal, journal_path) -> MatchPicker:
    picker = review(pairs, portal=portal)
    picker.status_filter.value = "not sent"
    return picker


def tick_free(picker: MatchPicker, n: int, *, rebind: bool = False) -> list[int]:
    """Tick ``n`` pairs through their checkboxes; return their pair ids."""
    chosen = []
    for row in picker.rows:
        if len(chosen) == n:
            break
        if row.pair_id is None or row.checkbox.disabled or row.checkbox.value:
            continue
        if bool(picker.pairs.loc[row.pair_id, "rebind"]) != rebind:
            continue
        row.checkbox.value = True
        chosen.append(row.pair_id)
    assert len(chosen) == n
    return chosen


def store(sb) -> set[tuple[int, int]]:
    return {(b["orderId"], b["ownerId"]) for b in sb.bindings()}


def confirm(picker: MatchPicker, timeout: float = 60.0) -> None:
    """Click Confirm and wait for the background run to end and the grid to show it."""
    picker.confirm_button.click()
    assert picker.actions.join(timeout), "the run did not end"
    assert not picker.actions.running


def test_bind_sends_nothing_before_confirm_then_binds_exactly_the_ticked_pairs(
        picker, pairs, small_sandbox):
    before = store(small_sandbox)
    ids = tick_free(picker, 3)
    small_sandbox.stats.reset()
    picker.bind_button.click()
    assert small_sandbox.stats.method_calls["crm.orderentity.add"] == 0
    assert "3 pair(s)" in picker.confirm_html.value
    confirm(picker)
    assert pairs.loc[ids, "bind_status"].tolist() == ["bound"] * 3
    assert pairs["bind_status"].notna().sum() == 3
    expected = {(int(pairs.loc[i, "order_id"]), int(pairs.loc[i, "deal_id"])) for i in ids}
    assert store(small_sandbox) - before == expected
    assert picker.progress.value == picker.progress.max == 3
    assert picker.progress.bar_style == "success"
    assert picker.bind_button.description == "Bind selected (0)"
    assert "3 bound" in picker.message.value
    rows = [picker.rows[i] for i, r in enumerate(picker.rows) if r.pair_id in ids]
    assert all("b24nb-status-bound" in r.html.value for r in rows)
    assert all(r.checkbox.disabled for r in rows)


def test_progress_advances_per_batch_and_statuses_show_live(picker, pairs, small_sandbox):
    picker.page_size.value = 50
    picker.tick_page_button.click()
    n = int(pairs["selected"].sum())
    seen_values: list[int] = []
    live: list[bool] = []  # was the run still going when a row showed its new status?
    picker.progress.observe(lambda c: seen_values.append(c["new"]), names="value")

    def on_row(change):
        if re.search(r"b24nb-status-(bound|needs_rebind)", change["new"]):
            live.append(picker.actions.running)

    for row in picker.rows:
        row.html.observe(on_row, names="value")
    picker.bind_button.click()
    confirm(picker)
    assert seen_values[-1] == n
    assert seen_values == sorted(seen_values)
    assert any(live)  # statuses reached the rows during the run, not only after it
    statuses = pairs.loc[pairs["selected"], "bind_status"]
    assert statuses.notna().all()
    assert set(statuses) <= {"bound", "already_bound", "needs_rebind"}


def test_dry_run_writes_nothing_and_marks_rows_dry_run(picker, pairs, small_sandbox):
    before = store(small_sandbox)
    ids = tick_free(picker, 2)
    picker.dry_run.value = True
    picker.bind_button.click()
    assert "dry run" in picker.confirm_html.value
    confirm(picker)
    assert pairs.loc[ids, "bind_status"].tolist() == ["dry_run"] * 2
    assert store(small_sandbox) == before
    assert picker.undo_button.disabled  # nothing was written, so nothing to undo


def test_rebind_needs_allow_rebind_and_retry_moves_the_order(picker, pairs, small_sandbox):
    (pid,) = tick_free(picker, 1, rebind=True)
    order, deal = int(pairs.loc[pid, "order_id"]), int(pairs.loc[pid, "deal_id"])
    old_owner = int(pairs.loc[pid, "current_owner_id"])
    picker.bind_button.click()
    assert "bound to another owner today" in picker.confirm_html.value
    confirm(picker)
    assert pairs.loc[pid, "bind_status"] == "needs_rebind"
    assert (order, old_owner) in store(small_sandbox)
    assert picker.retry_button.description == "Retry failed (0)"
    picker.allow_rebind.value = True
    assert picker.retry_button.description == "Retry failed (1)"
    picker.retry_button.click()
    confirm(picker)
    assert pairs.loc[pid, "bind_status"] == "rebound"
    assert (order, deal) in store(small_sandbox)
    assert (order, old_owner) not in store(small_sandbox)


def test_failed_rows_are_retried_alone(picker, pairs, small_sandbox):
    ok = tick_free(picker, 2)
    picker.bind_button.click()
    confirm(picker)
    small_sandbox.faults.add(method="crm.orderentity.add", kind="500", p=1.0, seed=1)
    bad = tick_free(picker, 2)
    picker.bind_button.click()
    confirm(picker)
    assert pairs.loc[bad, "bind_status"].tolist() == ["failed"] * 2
    assert pairs.loc[bad, "bind_message"].notna().all()
    assert "b24nb-status-failed" in picker.rows[[r.pair_id for r in picker.rows].index(
        bad[0])].html.value
    small_sandbox.faults.clear()
    assert picker.retry_button.description == "Retry failed (2)"
    small_sandbox.stats.reset()
    picker.retry_button.click()
    assert "Retry</b>: 2 pair(s)" in picker.confirm_html.value
    confirm(picker)
    assert pairs.loc[bad, "bind_status"].tolist() == ["bound"] * 2
    assert pairs.loc[ok, "bind_status"].tolist() == ["bound"] * 2
    assert small_sandbox.stats.method_calls["crm.orderentity.add"] == 2
    assert picker.retry_button.description == "Retry failed (0)"


def test_undo_last_run_removes_its_bindings_only(picker, pairs, small_sandbox):
    first = tick_free(picker, 2)
    picker.bind_button.click()
    confirm(picker)
    second = tick_free(picker, 2)
    picker.bind_button.click()
    confirm(picker)
    before_undo = store(small_sandbox)
    assert not picker.undo_button.disabled
    picker.undo_button.click()
    assert "Undo run" in picker.confirm_html.value
    confirm(picker)
    assert pairs.loc[second, "bind_status"].tolist() == ["unbound"] * 2
    assert pairs.loc[first, "bind_status"].tolist() == ["bound"] * 2
    removed = {(int(pairs.loc[i, "order_id"]), int(pairs.loc[i, "deal_id"])) for i in second}
    assert before_undo - store(small_sandbox) == removed
    assert picker.undo_button.disabled


def test_an_error_raised_by_bind_is_shown_and_the_bar_turns_red(picker, pairs, small_sandbox):
    before = store(small_sandbox)
    (pid,) = tick_free(picker, 1)
    pairs.loc[pid, "owner_type_id"] = 7  # not an owner type the portal accepts
    picker.bind_button.click()
    confirm(picker)
    assert "b24nb-error" in picker.message.value
    assert "ValidationError" in picker.message.value
    assert picker.progress.bar_style == "danger"
    assert not picker._busy
    assert not picker.actions.running
    assert bool(pairs.loc[pid, "selected"])  # the tick survived the failed call
    assert store(small_sandbox) == before
    assert small_sandbox.url.rsplit("/", 2)[-2] not in picker.message.value


def test_grid_over_suggest_output_binds_a_ticked_pair(small_sandbox, portal, journal_path):
    deals = b24nb.load_deals(portal, progress=False)
    orders = b24nb.load_orders(portal, progress=False)
    bindings = b24nb.load_bindings(portal, progress=False)
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    pairs["selected"] = pd.array([False] * len(pairs), dtype="boolean")
    picker = review(pairs, portal=portal, deals=deals)
    (pid,) = tick_free(picker, 1)
    picker.bind_button.click()
    confirm(picker)
    assert pairs.loc[pid, "bind_status"] == "bound"
    assert (int(pairs.loc[pid, "order_id"]), int(pairs.loc[pid, "deal_id"])) in store(
        small_sandbox)
    assert "b24nb-error" not in picker.message.value


def drop_in_place(frame: pd.DataFrame, labels: list) -> None:
    """``frame.drop(..., inplace=True)`` (deprecated in pandas 3.1, still what people type)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame.drop(index=labels, inplace=True)


def all_text(widget) -> str:
    """Every string a widget tree shows (values, descriptions, tooltips), for secret greps."""
    parts = []
    stack = [widget]
    while stack:
        item = stack.pop()
        for name in ("value", "description", "tooltip", "placeholder"):
            value = getattr(item, name, None)
            if isinstance(value, str):
                parts.append(value)
        stack.extend(getattr(item, "children", ()) or ())
    return "\n".join(parts)


@pytest.fixture
def free_portal(journal_path):
    """A portal whose 300 orders are all unbound, with a two-candidate frame over them."""
    from b24nb.sandbox import Sandbox

    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, 402)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 10.0} for i in range(1, 301)]
    with Sandbox(demo=False, deals=deals, orders=orders, limits=False, latency=False) as sb:
        frame = synthetic_pairs(600, seed=0)
        order_ids = np.repeat(np.arange(1, 301), 2)
        frame["order_id"] = pd.array(order_ids, dtype="Int64")
        frame["deal_id"] = pd.array(order_ids + np.tile([0, 100], 300), dtype="Int64")
        frame["score"] = np.tile([0.95, 0.6], 300)
        for col in ("current_owner_id", "current_owner_type_id"):
            frame[col] = pd.array([None] * 600, dtype="Int64")
        frame["rebind"] = pd.array([False] * 600, dtype="boolean")
        yield sb, b24nb.connect(sb.url, progress=False), frame


def tick_best(picker: MatchPicker, n: int) -> list[int]:
    """Tick the best candidate of the first ``n`` orders (outside the page, as code would)."""
    pairs = picker.pairs
    best = pairs[pairs["score"] > 0.9].index[:n]
    picker.actions.set_selected(pairs.index.get_indexer(best), True)
    picker.refresh()
    return best.tolist()


def test_progress_bar_counts_answered_rows_not_planned_ones(free_portal):
    _sb, portal, pairs = free_portal
    picker = review(pairs, portal=portal)
    ids = tick_best(picker, 110)  # three batches: 50, 50, 10
    seen: list[tuple[int, bool]] = []
    picker.progress.observe(lambda c: seen.append((c["new"], picker.actions.running)),
                            names="value")
    picker.bind_button.click()
    confirm(picker)
    during = [v for v, running in seen if running]
    # batches go several at a time and are answered in any order, but the bar moves only
    # by answered rows: never full before the last batch was answered
    assert during == sorted(during)
    assert during[-1] == 110
    assert all(v < 110 for v in during[:-1])
    assert len(during) >= 3
    assert during[0] in (10, 50)
    assert pairs.loc[ids, "bind_status"].eq("bound").all()


def test_an_error_while_redrawing_during_a_run_is_shown_and_the_run_finishes(
        picker, pairs, small_sandbox, monkeypatch):
    ids = tick_free(picker, 3)
    real = picker._render_page

    def broken():
        if picker.actions.running:
            raise RuntimeError("display broke")
        real()

    monkeypatch.setattr(picker, "_render_page", broken)
    picker.bind_button.click()
    confirm(picker)
    assert pairs.loc[ids, "bind_status"].tolist() == ["bound"] * 3
    assert "b24nb-error" in picker.message.value
    assert "display broke" in picker.message.value
    assert "3 bound" in picker.message.value
    assert not picker._busy


def test_undo_touches_only_the_last_runs_pairs_after_rows_were_dropped(
        picker, pairs, small_sandbox):
    first = tick_free(picker, 2)
    picker.bind_button.click()
    confirm(picker)
    second = tick_free(picker, 2)
    picker.bind_button.click()
    confirm(picker)
    before = store(small_sandbox)
    # the analyst drops rows from the frame in place: every position after them shifts
    drop_in_place(pairs, [p for p in pairs.index[:6] if p not in first + second])
    picker.undo_button.click()
    confirm(picker)
    assert pairs.loc[second, "bind_status"].tolist() == ["unbound"] * 2
    assert pairs.loc[first, "bind_status"].tolist() == ["bound"] * 2
    removed = {(int(pairs.loc[i, "order_id"]), int(pairs.loc[i, "deal_id"])) for i in second}
    assert before - store(small_sandbox) == removed
    assert "b24nb-error" not in picker.message.value


def test_a_run_stopped_half_way_can_be_undone_and_its_rows_retried(free_portal):
    small_sandbox, portal, pairs = free_portal
    picker = review(pairs, portal=portal)
    ids = tick_best(picker, 100)
    before = store(small_sandbox)
    real = picker.run_view.on_rows
    calls = []

    def revoke_after_first_batch(pair_ids):
        calls.append(pair_ids)
        if len(calls) == 2:
            portal._auth._base = portal._auth._base.replace("/rest/1/", "/rest/9/")
        real(pair_ids)

    picker.run_view.on_rows = revoke_after_first_batch
    picker.actions.in_flight = 1  # one batch at a time: the second meets the revoke
    picker.bind_button.click()
    confirm(picker)
    assert "AuthError" in picker.message.value
    assert picker.progress.bar_style == "danger"
    assert pairs.loc[ids, "bind_status"].value_counts().to_dict() == {"bound": 50,
                                                                     "failed": 50}
    assert not picker.undo_button.disabled  # the 50 it made can be taken back
    portal._auth._base = portal._auth._base.replace("/rest/9/", "/rest/1/")
    picker.run_view.on_rows = real
    assert picker.retry_button.description == "Retry failed (50)"
    picker.undo_button.click()
    confirm(picker)
    assert store(small_sandbox) == before
    assert set(pairs.loc[ids, "bind_status"]) == {"unbound", "failed"}
    picker.retry_button.click()
    confirm(picker)
    assert pairs.loc[ids, "bind_status"].value_counts().to_dict() == {"bound": 50,
                                                                     "unbound": 50}
    assert len(store(small_sandbox) - before) == 50


def test_binding_one_candidate_updates_the_owner_shown_on_its_siblings(picker, pairs):
    (pid,) = tick_free(picker, 1)
    order = pairs.loc[pid, "order_id"]
    sibling = pairs.index[(pairs["order_id"] == order) & (pairs.index != pid)][0]
    picker.bind_button.click()
    confirm(picker)
    assert pairs.loc[sibling, "current_owner_id"] == pairs.loc[pid, "deal_id"]
    assert bool(pairs.loc[sibling, "rebind"]) is True
    picker.status_filter.value = "all"
    picker.search.value = str(order)
    row = picker.rows[[r.pair_id for r in picker.rows].index(sibling)]
    assert row.checkbox.disabled
    assert "⚠ order bound to" in row.html.value


def test_no_secret_in_any_text_the_grid_shows(small_sandbox, portal, pairs, journal_path):
    secret = small_sandbox.url.rstrip("/").rsplit("/", 1)[-1]
    small_sandbox.faults.add(method="crm.orderentity.add", kind="500", p=1.0, times=2)
    picker = review(pairs, portal=portal)
    picker.status_filter.value = "not sent"
    tick_free(picker, 3)
    picker.bind_button.click()
    shown = [all_text(picker)]
    confirm(picker)
    shown.append(all_text(picker))
    picker.retry_button.click()
    confirm(picker)
    shown.append(all_text(picker) + repr(picker))
    assert secret not in "\n".join(shown)
    assert small_sandbox.url not in "\n".join(shown)


def test_confirm_sends_exactly_the_pairs_the_confirmation_showed(picker, pairs, small_sandbox):
    before = store(small_sandbox)
    ids = tick_free(picker, 2)
    picker.bind_button.click()
    assert "2 pair(s)" in picker.confirm_html.value
    # between Bind and Confirm rows above them leave the frame: positions shift, ids do not
    drop_in_place(pairs, [p for p in pairs.index[:4] if p not in ids])
    confirm(picker)
    assert pairs.loc[ids, "bind_status"].tolist() == ["bound"] * 2
    assert pairs["bind_status"].notna().sum() == 2
    made = {(int(pairs.loc[i, "order_id"]), int(pairs.loc[i, "deal_id"])) for i in ids}
    assert store(small_sandbox) - before == made
