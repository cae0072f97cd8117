"""Bulk ticks keep the matcher's rules: Tick all ≥ = suggest()'s pre-tick at that threshold.

The frames are the sandbox demo's (as the loaders type them) and the matcher is the real
``suggest()``: the grid's button must tick exactly the pairs ``suggest(high=t)`` pre-ticks,
no rebind unless asked, and Untick all / Untick shown work under a filter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.widgets import review
from b24nb.widgets._bulk import tick_all_plan
from review_frames import review_frames


@pytest.fixture(scope="module")
def frames():
    return review_frames(0, 800, 960)


def untouched(pairs: pd.DataFrame) -> pd.DataFrame:
    out = pairs.copy()
    out["selected"] = pd.array(np.zeros(len(out), dtype=bool), dtype="boolean")
    return out


@pytest.mark.parametrize("threshold", [0.45, 0.65, 0.8])
def test_tick_all_ticks_exactly_what_suggest_pre_ticks_at_that_threshold(frames, threshold):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings, high=threshold)
    expected = set(pairs.index[pairs["selected"].fillna(False)])
    assert expected, "the demo must pre-tick something"
    fresh = untouched(pairs)
    picker = review(fresh, threshold=threshold)
    picker.tick_above_button.click()
    assert set(fresh.index[fresh["selected"].fillna(False)]) == expected
    assert not fresh.loc[fresh["selected"].fillna(False), "rebind"].any()
    assert "no rebinds" in picker.message.value


def test_include_rebinds_adds_them_and_says_how_many(frames):
    deals, orders, bindings = frames
    pairs = untouched(b24nb.suggest(deals, orders, bindings=bindings))
    rule = tick_all_plan(pairs, np.arange(len(pairs)), 0.65)
    wider = tick_all_plan(pairs, np.arange(len(pairs)), 0.65, include_rebinds=True)
    assert wider.rebinds > 0
    assert set(rule.positions) < set(wider.positions)
    assert len(wider.positions) - len(rule.positions) == wider.rebinds
    class Host:  # enough of a portal for the confirmation (nothing is sent here)
        host = "https://acme.bitrix24.test"

    picker = review(pairs, portal=Host(), threshold=0.65, record_decisions=False)
    picker.review.include_rebinds.value = True
    picker.tick_above_button.click()
    ticked = pairs[pairs["selected"].fillna(False)]
    assert int(ticked["rebind"].sum()) == wider.rebinds
    assert f"{wider.rebinds:,} of them rebind(s)" in picker.message.value
    assert ticked["order_id"].is_unique
    # the confirmation counts the rebinds apart
    picker.bind_button.click()
    text = picker.confirm_html.value
    assert f"{wider.rebinds:,} rebind(s)</b>" in text
    assert f"{len(ticked) - wider.rebinds:,} new binding(s)" in text


def test_rejected_pairs_are_never_ticked_in_bulk(frames):
    deals, orders, bindings = frames
    pairs = untouched(b24nb.suggest(deals, orders, bindings=bindings))
    picker = review(pairs, threshold=0.65, record_decisions=False)
    first = picker.rows[0]
    first.decision.value = "reject"
    assert pairs.loc[first.pair_id, "decision"] == "reject"
    assert first.checkbox.disabled
    picker.tick_above_button.click()
    assert not pairs.loc[first.pair_id, "selected"]
    assert pairs["selected"].fillna(False).sum() > 0


def test_untick_all_under_a_filter_unticks_the_whole_frame_and_the_view_refreshes(frames):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    n = int(pairs["selected"].sum())
    picker = review(pairs)
    picker.status_filter.value = "selected"
    assert len(picker._view) == n > 25
    picker.review.untick_all_button.click()
    assert int(pairs["selected"].sum()) == 0
    assert len(picker._view) == 0  # the "selected" view shows what is selected now: nothing
    assert [r for r in picker.rows if not r.hidden] == []
    assert f"unticked all {n:,}" in picker.message.value


def test_untick_shown_unticks_only_what_the_filter_shows(frames):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    before = pairs["selected"].fillna(False).copy()
    picker = review(pairs)
    picker.band.value = (0.9, 1.0)
    shown = set(pairs.index[picker._view])
    picker.review.untick_shown_button.click()
    after = pairs["selected"].fillna(False)
    assert not after[list(shown)].any()
    others = [p for p in pairs.index if p not in shown]
    assert after[others].equals(before[others])
    assert before[list(shown)].any()


def test_untick_page_under_the_selected_filter_moves_on_to_the_next_rows(frames):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    n = int(pairs["selected"].sum())
    picker = review(pairs)
    picker.status_filter.value = "selected"
    first = picker.page_pair_ids()
    picker.untick_page_button.click()
    assert int(pairs["selected"].sum()) == n - 25
    assert not set(first) & set(picker.page_pair_ids())  # the view refreshed: new rows shown
