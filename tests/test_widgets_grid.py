"""The review grid without a kernel or a portal: ticks, pages, filters, greying, counts.

ipywidgets attaches a DummyComm outside a kernel, so setting ``checkbox.value`` and calling
``button.click()`` run the real handlers; every assertion reads the pairs frame, the truth.
"""

from __future__ import annotations

import re
import statistics
import time
import warnings

import ipywidgets as w
import ipywidgets.widgets.widget as widget_module
import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.widgets import MatchPicker, review
from b24nb.widgets._synthetic import synthetic_pairs


@pytest.fixture
def pairs() -> pd.DataFrame:
    return synthetic_pairs(300, seed=3)


def visible(picker: MatchPicker) -> list:
    return [r for r in picker.rows if not r.hidden]


def slot_of(picker: MatchPicker, pair_id) -> int:
    return next(i for i, r in enumerate(picker.rows) if r.pair_id == pair_id)


def test_review_is_exported_at_top_level_and_returns_a_widget(pairs):
    picker = b24nb.review(pairs)
    assert isinstance(picker, b24nb.MatchPicker)
    assert isinstance(picker, w.DOMWidget)


def test_first_page_shows_25_pairs_best_score_first(pairs):
    picker = review(pairs)
    ids = picker.page_pair_ids()
    assert len(ids) == 25 == len(visible(picker))
    scores = pairs.loc[ids, "score"].tolist()
    assert scores == sorted(pairs["score"], reverse=True)[:25]
    assert [r.pair_id for r in visible(picker)] == ids
    assert f'data-pair-id="{ids[0]}"' in picker.rows[0].html.value


def test_ticking_a_checkbox_writes_selected_for_that_pair_id(pairs):
    picker = review(pairs)
    pid = picker.rows[3].pair_id
    picker.rows[3].checkbox.value = True
    assert pairs.loc[pid, "selected"]
    assert int(pairs["selected"].sum()) == 1
    assert picker.bind_button.description == "Bind selected (1)"
    picker.rows[3].checkbox.value = False
    assert not pairs.loc[pid, "selected"]
    assert picker.bind_button.description == "Bind selected (0)"


def test_ticking_a_pair_greys_out_other_candidates_of_the_same_order(pairs):
    counts = pairs["order_id"].value_counts()
    order = int(counts[counts >= 2].index[0])
    picker = review(pairs)
    picker.search.value = str(order)  # order number: only this order's candidates remain
    ids = picker.page_pair_ids()
    assert set(pairs.loc[ids, "order_id"]) == {order}
    assert len(ids) >= 2
    first, other = slot_of(picker, ids[0]), slot_of(picker, ids[1])
    picker.rows[first].checkbox.value = True
    assert picker.rows[other].checkbox.disabled
    assert "opacity:.42" in picker.rows[other].html.value
    assert f"order taken by pair {ids[0]}" in picker.rows[other].html.value
    assert not picker.rows[first].checkbox.disabled
    picker.rows[first].checkbox.value = False
    assert not picker.rows[other].checkbox.disabled


def test_ticking_a_pair_unticks_a_sibling_ticked_outside_the_grid(pairs):
    counts = pairs["order_id"].value_counts()
    order = int(counts[counts >= 2].index[0])
    a, b = pairs.index[pairs["order_id"] == order][:2].tolist()
    pairs.loc[a, "selected"] = True  # e.g. pre-ticked by suggest()
    picker = review(pairs)
    picker.actions.set_selected(np.array([pairs.index.get_loc(b)]), True)
    assert not pairs.loc[a, "selected"]
    assert pairs.loc[b, "selected"]


def test_tick_page_ticks_one_pair_per_order(pairs):
    picker = review(pairs)
    picker.sort.value = "order"
    picker.tick_page_button.click()
    page = pairs.loc[picker.page_pair_ids()]
    ticked = page[page["selected"]]
    assert ticked["order_id"].is_unique
    assert set(ticked["order_id"]) == set(page["order_id"])
    picker.untick_page_button.click()
    assert int(pairs["selected"].sum()) == 0


def test_tick_all_above_threshold_ticks_the_best_candidate_of_each_order_in_view(pairs):
    picker = review(pairs, threshold=0.8)
    picker.band.value = (0.5, 1.0)
    picker.tick_above_button.click()
    ticked = pairs[pairs["selected"].fillna(False)]
    assert len(ticked) > 0
    assert ticked["order_id"].is_unique
    assert (ticked["score"] >= 0.8).all()
    # the best candidate of its order, and never an ambiguous pair or a rebind (the pre-tick
    # rule: tests/test_review_bulk.py holds it to suggest()'s own pre-tick)
    best = pairs.groupby("order_id")["score"].transform("max")
    assert (ticked["score"] == best[ticked.index]).all()
    assert not ticked["ambiguous"].fillna(False).any()
    assert not ticked["rebind"].fillna(False).any()
    assert ticked["deal_id"].is_unique
    assert "ticked" in picker.message.value


def test_tick_all_above_threshold_leaves_orders_already_decided_alone(pairs):
    high = pairs[pairs["score"] >= 0.8]
    order = high["order_id"].value_counts().index[0]
    low = pairs[(pairs["order_id"] == order)].sort_values("score").index[0]
    pairs.loc[low, "selected"] = True
    picker = review(pairs, threshold=0.8)
    picker.tick_above_button.click()
    of_order = pairs[pairs["order_id"] == order]
    assert of_order.index[of_order["selected"].fillna(False)].tolist() == [low]


def test_the_grid_is_few_widget_models_rows_share_their_looks(pairs):
    # every model is one comm message the browser takes in before the first row shows
    # (~2 ms each in chromium here): 251 before the looks were shared
    before = set(widget_module._instances)
    picker = review(pairs)
    made = [m for k, m in widget_module._instances.items() if k not in before]
    assert len(made) <= 180, len(made)
    kinds = [type(m).__name__ for m in made]
    assert kinds.count("Layout") <= 25
    assert kinds.count("ButtonStyle") == 1
    first, other = picker.rows[0], picker.rows[7]
    for part in ("checkbox", "html", "decision", "box"):
        assert getattr(first, part).layout is getattr(other, part).layout
    # a bar shown and hidden later keeps a layout of its own
    shared = {id(m.layout) for m in made if hasattr(m, "layout") and m is not picker.confirm_box}
    assert id(picker.confirm_box.layout) not in shared
    assert picker.progress_box.layout is not picker.stop_button.layout


def test_a_short_page_leaves_its_empty_rows_out_of_the_box():
    picker = review(synthetic_pairs(310, seed=3))  # 12 pages of 25, then one of 10
    picker.go_to_page(picker.n_pages - 1)
    assert len(visible(picker)) == 10 == len(picker.pool.box.children)
    assert list(picker.pool.box.children) == [r.box for r in visible(picker)]
    assert all(r.pair_id is None for r in picker.rows if r.hidden)
    picker.go_to_page(0)
    assert len(picker.pool.box.children) == 25 == len(visible(picker))


def test_paging_refills_the_same_pool_and_creates_no_widgets(pairs):
    picker = review(pairs)
    boxes = [r.checkbox for r in picker.rows]
    before = len(widget_module._instances)
    first = picker.page_pair_ids()
    picker.next_button.click()
    second = picker.page_pair_ids()
    picker.prev_button.click()
    assert len(widget_module._instances) == before
    assert [r.checkbox for r in picker.rows] == boxes
    assert not set(first) & set(second)
    assert picker.page_pair_ids() == first
    assert picker.page_label.value.startswith("page 1/12")


def test_ticks_survive_paging_because_the_frame_holds_them(pairs):
    picker = review(pairs)
    pid = picker.rows[0].pair_id
    picker.rows[0].checkbox.value = True
    picker.next_button.click()
    assert not any(r.checkbox.value for r in visible(picker) if r.pair_id != pid)
    picker.prev_button.click()
    assert picker.rows[slot_of(picker, pid)].checkbox.value


def test_page_size_50_shows_50_rows(pairs):
    picker = review(pairs)
    assert len(picker.rows) == 25  # the first page's rows only: fewer widgets to draw first
    picker.page_size.value = 50
    assert len(visible(picker)) == 50
    assert picker.page_label.value.startswith("page 1/6")
    # the rows added for the bigger page are wired like the first ones
    row = picker.rows[40]
    row.checkbox.value = not row.checkbox.value
    assert bool(pairs.loc[row.pair_id, "selected"]) is row.checkbox.value
    picker.page_size.value = 25
    assert len(visible(picker)) == 25
    assert len(picker.rows) == 50  # hidden, not destroyed


def test_last_page_hides_spare_rows(pairs):
    picker = review(pairs)
    picker.go_to_page(10**6)
    assert len(visible(picker)) == 300 - 11 * 25
    assert picker.next_button.disabled


def test_score_band_status_and_text_filters_narrow_the_view(pairs):
    picker = review(pairs)
    picker.band.value = (0.2, 0.5)
    view = pairs.loc[picker.page_pair_ids()]
    assert view["score"].between(0.2, 0.5).all()
    assert picker.summary.value.count("in view") == 1
    n = int(pairs["score"].between(0.2, 0.5).sum())
    assert f"{n:,} in view" in picker.summary.value
    picker.band.value = (0.0, 1.0)
    picker.status_filter.value = "rebind warning"
    assert pairs.loc[picker.page_pair_ids(), "rebind"].all()
    picker.status_filter.value = "all"
    picker.search.value = "smith"
    assert pairs.loc[picker.page_pair_ids(), "customer"].eq("Anna Smith").all()


def test_sort_by_order_walks_orders_ascending(pairs):
    picker = review(pairs)
    picker.sort.value = "order"
    orders = pairs.loc[picker.page_pair_ids(), "order_id"].tolist()
    assert orders == sorted(pairs["order_id"])[:25]


def test_rows_bound_elsewhere_carry_a_rebind_warning(pairs):
    picker = review(pairs)
    picker.status_filter.value = "rebind warning"
    row = picker.rows[0]
    owner = pairs.loc[row.pair_id, "current_owner_id"]
    assert "⚠ order bound to" in row.html.value
    assert f"deal {owner}" in row.html.value


def test_statuses_written_to_the_frame_show_with_their_colour(pairs):
    picker = review(pairs)
    a, b = picker.rows[0].pair_id, picker.rows[1].pair_id
    pairs.loc[a, "bind_status"] = "bound"
    pairs.loc[b, "bind_status"] = "failed"
    pairs.loc[b, "bind_error"] = "ACCESS_DENIED"
    pairs.loc[b, "bind_message"] = "Access denied"
    picker.refresh()
    assert re.search(r"b24nb-status-bound\" style=\"background:#1e7e34", picker.rows[0].html.value)
    assert "b24nb-status-failed" in picker.rows[1].html.value
    assert "ACCESS_DENIED: Access denied" in picker.rows[1].html.value
    assert picker.rows[0].checkbox.disabled  # bound rows cannot be ticked again
    assert picker.retry_button.description == "Retry failed (1)"


def test_without_a_portal_the_grid_is_review_only(pairs):
    picker = review(pairs)
    assert picker.bind_button.disabled
    assert picker.retry_button.disabled


def test_bind_click_asks_for_confirmation_and_cancel_sends_nothing(pairs):
    picker = review(pairs)
    picker.rows[0].checkbox.value = True
    picker.rows[1].checkbox.value = True
    picker.bind_button.click()
    assert picker.confirm_box.layout.display is None
    assert "2 pair(s)" in picker.confirm_html.value
    picker.cancel_button.click()
    assert picker.confirm_box.layout.display == "none"
    assert pairs["bind_status"].isna().all()
    assert "nothing was sent" in picker.message.value


def test_a_failing_handler_shows_its_error_in_the_widget(pairs):
    picker = review(pairs)
    del pairs["order_id"]  # the frame broke under the widget
    picker.next_button.click()
    assert "b24nb-error" in picker.message.value
    assert "order_id" in picker.message.value
    assert not picker._busy  # the guard was released


def test_repr_is_one_line_of_counts(pairs):
    text = repr(review(pairs))
    assert "\n" not in text
    assert text == "MatchPicker(300 pairs, 300 in view, 0 selected, page 1/12)"


def test_histogram_draws_one_bar_per_bin(pairs):
    picker = review(pairs)
    assert picker.histogram.value.count("<div title=") == 20


def test_frame_without_score_is_refused():
    with pytest.raises(ValueError, match="score"):
        review(pd.DataFrame({"deal_id": [1], "order_id": [2]}))


@pytest.mark.slow
def test_page_change_costs_under_100ms_on_a_million_pairs():
    big = synthetic_pairs(1_000_000, seed=1)
    picker = review(big, page_size=50)
    picker.rows[0].checkbox.value = True
    timings = []
    for _ in range(20):
        start = time.perf_counter()
        picker.next_button.click()
        timings.append(time.perf_counter() - start)
    assert picker.page_label.value.startswith("page 21/20,000")
    # the median, so that one stall of a shared CI box does not decide; ~15 ms when idle
    assert statistics.median(timings) < 0.1, timings


def test_an_empty_frame_shows_an_empty_grid_without_errors():
    picker = review(synthetic_pairs(10).iloc[:0].copy())
    picker.next_button.click()
    picker.tick_page_button.click()
    picker.tick_above_button.click()
    assert visible(picker) == []
    assert "b24nb-error" not in picker.message.value
    assert picker.page_label.value == "page 1/1 · rows 0–0 of 0"


def test_tick_threshold_starts_at_the_matchers_pre_tick_threshold(pairs):
    import inspect

    high = inspect.signature(b24nb.suggest).parameters["high"].default
    assert review(pairs).threshold.value == high
    assert inspect.signature(review).parameters["threshold"].default == high
    assert inspect.signature(MatchPicker).parameters["threshold"].default == high


def test_retry_offers_rows_sent_without_an_answer(pairs):
    picker = review(pairs)
    a, b = picker.rows[0].pair_id, picker.rows[1].pair_id
    pairs.loc[a, "bind_status"] = "pending"
    pairs.loc[b, "bind_status"] = "failed"
    picker.refresh()
    assert picker.retry_button.description == "Retry failed (2)"


def test_rows_dropped_under_the_grid_do_not_shift_what_it_shows(pairs):
    picker = review(pairs)
    third = picker.page_pair_ids()[2]
    with warnings.catch_warnings():  # inplace is deprecated in pandas 3.1, still typed
        warnings.simplefilter("ignore")
        pairs.drop(index=picker.page_pair_ids()[:2], inplace=True)
    picker.next_button.click()
    picker.prev_button.click()
    assert picker.page_pair_ids()[0] == third
    assert visible(picker)[0].pair_id == third
    assert "b24nb-error" not in picker.message.value


def test_a_tick_arriving_while_a_handler_runs_is_refused_and_looks_refused(pairs):
    picker = review(pairs)
    picker._busy = True  # e.g. a run in progress: handlers must not re-enter
    picker.rows[0].checkbox.value = True
    picker.next_button.click()
    assert not pairs["selected"].any()
    assert picker.rows[0].checkbox.value is False  # the box does not claim a tick it lost
    assert picker.page_label.value.startswith("page 1/")
    picker._busy = False
    picker.rows[0].checkbox.value = True
    assert pairs.loc[picker.rows[0].pair_id, "selected"]
