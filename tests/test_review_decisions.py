"""Decisions last: reject/unsure/accept go to the frame and the journal, and come back.

The journal is a real SQLite file; "a kernel restart" is a new suggest() on the same data with
the decisions read back from that file (``b24nb.decisions``), applied with
``b24nb.apply_decisions``.
"""

from __future__ import annotations

import pandas as pd
import pytest

import b24nb
from b24nb.errors import ValidationError
from b24nb.journal.verdicts import record_decisions, review_progress
from b24nb.widgets import review
from review_frames import review_frames


@pytest.fixture(scope="module")
def frames():
    return review_frames(2, 400, 480)


class Host:
    """What the grid needs of a portal for decisions and links: its host, nothing else."""

    host = "https://acme.bitrix24.test"


def test_a_decision_in_the_grid_lands_in_the_frame_and_the_journal(frames, journal_path):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    picker = review(pairs, portal=Host())
    row = picker.rows[2]
    pid = row.pair_id
    row.decision.value = "reject"
    assert pairs.loc[pid, "decision"] == "reject"
    assert not pairs.loc[pid, "selected"]
    assert pd.notna(pairs.loc[pid, "decided_at"])
    assert "rejected" in row.html.value
    saved = b24nb.decisions(portal=Host())
    assert saved[["order_id", "deal_id", "decision"]].values.tolist() == [
        [pairs.loc[pid, "order_id"], pairs.loc[pid, "deal_id"], "reject"]]
    assert str(saved["decided_at"].dtype) == "datetime64[ns, UTC]"
    assert saved.dtypes.astype(str).to_dict() == {
        "order_id": "Int64", "deal_id": "Int64", "owner_type_id": "Int64",
        "decision": "string", "decided_at": "datetime64[ns, UTC]"}
    assert len(b24nb.decisions(portal="https://other.bitrix24.test")) == 0
    assert "1 rejected" in picker.summary.value


def test_decisions_survive_a_restart_newest_wins_and_clearing_removes(frames, journal_path):
    deals, orders, bindings = frames
    first = b24nb.suggest(deals, orders, bindings=bindings)
    picker = review(first, portal=Host())
    a, b, c = (picker.rows[i].pair_id for i in range(3))
    picker.rows[0].decision.value = "unsure"
    picker.rows[0].decision.value = "reject"  # newest wins
    picker.rows[1].decision.value = "accept"
    picker.rows[2].decision.value = "unsure"
    picker.rows[2].decision.value = ""  # cleared
    # "after a restart": a fresh frame, decisions from the file only
    second = b24nb.suggest(deals, orders, bindings=bindings)
    assert second["decision"].isna().all() if "decision" in second.columns else True
    n = b24nb.apply_decisions(second, b24nb.decisions(portal=Host()))
    assert n == 2
    key = ["order_id", "deal_id"]
    got = second.loc[second["decision"].notna(), [*key, "decision"]]
    want = first.loc[[a, b], key].assign(decision=["reject", "accept"])
    assert sorted(map(tuple, got.values.tolist())) == sorted(map(tuple, want.values.tolist()))
    assert pd.isna(second.set_index(key).loc[tuple(first.loc[c, key]), "decision"])
    regrid = review(second, portal=Host())
    regrid.status_filter.value = "rejected"
    assert len(regrid._view) == 1
    regrid.status_filter.value = "accepted"
    assert len(regrid._view) == 1
    assert review_progress(second)["reviewed"] == 2
    assert "2 of " in regrid.summary.value
    assert "orders reviewed" in regrid.summary.value


def test_unknown_decisions_are_refused(journal_path):
    rows = pd.DataFrame({"order_id": [1], "deal_id": [2], "decision": ["maybe"]})
    with pytest.raises(ValidationError, match="maybe"):
        record_decisions(rows)


def test_bound_pairs_count_as_accepted(small_sandbox, journal_path):
    portal = b24nb.connect(small_sandbox.url, progress=False)
    deals = b24nb.load_deals(portal, progress=False)
    orders = b24nb.load_orders(portal, progress=False)
    bindings = b24nb.load_bindings(portal, progress=False)
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    ticked = pairs.index[pairs["selected"].fillna(False)][:3]
    pairs["selected"] = pairs.index.isin(ticked)
    b24nb.bind(portal, pairs, progress=False)
    got = b24nb.decisions(portal=portal)
    bound = pairs.loc[ticked, ["order_id", "deal_id"]].astype(int).values.tolist()
    accepted = got.loc[got["decision"] == "accept", ["order_id", "deal_id"]]
    assert sorted(accepted.astype(int).values.tolist()) == sorted(bound)
    assert len(b24nb.decisions(portal=portal, include_bound=False)) == 0
