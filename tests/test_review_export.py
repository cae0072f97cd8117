"""Results to take away: the log as CSV and Excel, the run summary, orders without a candidate."""

from __future__ import annotations

import pandas as pd
import pytest

import b24nb
from b24nb.errors import ValidationError
from b24nb.widgets import review
from review_frames import review_frames


@pytest.fixture(scope="module")
def frames():
    return review_frames(4, 300, 360)


def logged(pairs: pd.DataFrame) -> pd.DataFrame:
    """A frame as a run leaves it: three bound, one failed, one rejected."""
    pairs["bind_status"] = pd.array([pd.NA] * len(pairs), dtype="string")
    pairs["bind_error"] = pd.array([pd.NA] * len(pairs), dtype="string")
    pairs["bind_at"] = pd.Series(pd.NaT, index=pairs.index, dtype="datetime64[ns, UTC]")
    ids = pairs.index[:5]
    pairs.loc[ids[:3], "bind_status"] = "bound"
    pairs.loc[ids[:4], "bind_at"] = pd.Timestamp("2026-01-02 10:00", tz="UTC")
    pairs.loc[ids[3], "bind_status"] = "failed"
    pairs.loc[ids[3], "bind_error"] = "ERROR_CORE"
    pairs["decision"] = pd.array([pd.NA] * len(pairs), dtype="string")
    pairs.loc[ids[4], "decision"] = "reject"
    return pairs


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_writes_every_touched_row_with_its_bind_and_decision_columns(frames, tmp_path,
                                                                           suffix):
    deals, orders, bindings = frames
    pairs = logged(b24nb.suggest(deals, orders, bindings=bindings))
    path, n = b24nb.export_log(pairs, tmp_path / f"log{suffix}")
    assert n == 5
    back = (pd.read_csv(path, index_col=0) if suffix == ".csv"
            else pd.read_excel(path, index_col=0, engine="openpyxl"))
    assert back.index.tolist() == pairs.index[:5].tolist()
    for column in ("bind_status", "bind_error", "bind_at", "decision", "decided_at",
                   "deal_id", "order_id", "score"):
        assert column in back.columns, column
    assert back["bind_status"].fillna("").tolist() == ["bound"] * 3 + ["failed", ""]
    assert back["decision"].fillna("").tolist() == [""] * 4 + ["reject"]


def test_export_refuses_other_file_types(frames, tmp_path):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    with pytest.raises(ValidationError, match=r"\.csv or \.xlsx"):
        b24nb.export_log(pairs, tmp_path / "log.json")


def test_the_grid_export_button_reads_the_frame_at_the_click(frames, tmp_path):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    target = tmp_path / "grid.xlsx"
    picker = review(pairs, export_path=str(target), record_decisions=False)
    picker.review.export_button.click()
    assert "exported 0 row(s)" in picker.message.value  # nothing sent or decided yet
    picker.rows[0].decision.value = "unsure"
    logged_pairs = logged(pairs)  # a run happened since
    assert logged_pairs is pairs
    picker.review.export_button.click()
    assert "exported 5 row(s)" in picker.message.value
    assert len(pd.read_excel(target, index_col=0)) == 5


def test_run_summary_counts_and_sums_by_outcome(frames):
    deals, orders, bindings = frames
    pairs = logged(b24nb.suggest(deals, orders, bindings=bindings))
    pairs["currency"] = "RUB"
    summary = b24nb.run_summary(pairs)
    assert summary.loc["bound", "pairs"] == 3
    assert summary.loc["bound", "order_amount"] == pytest.approx(
        pairs["order_amount"].iloc[:3].sum())
    assert summary.loc["failed", "pairs"] == 1
    assert summary.loc["not sent, reject", "pairs"] == 1
    assert int(summary["pairs"].sum()) == len(pairs)
    assert summary.index[0] == "bound"


def test_unmatched_orders_lists_orders_without_any_candidate(frames):
    deals, orders, bindings = frames
    pairs = b24nb.suggest(deals, orders, bindings=bindings)
    left = b24nb.unmatched_orders(orders, pairs)
    assert len(left) > 0
    assert not left.index.isin(pairs["order_id"]).any()
    assert len(left) + pairs["order_id"].nunique() == len(orders)
    free = b24nb.unmatched_orders(orders, pairs, bindings=bindings)
    assert not free.index.isin(bindings.index).any()


def test_charts_render_with_counts(frames, tmp_path):
    deals, orders, bindings = frames
    pairs = logged(b24nb.suggest(deals, orders, bindings=bindings))
    fig = b24nb.plot_scores(pairs)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "bound (3)" in labels
    assert "failed (1)" in labels
    fig.savefig(tmp_path / "scores.png")
    fig2 = b24nb.plot_outcomes(pairs)
    ticks = [t.get_text() for t in fig2.axes[0].get_yticklabels()]
    assert ticks[:2] == ["bound", "failed"]
    fig2.savefig(tmp_path / "outcomes.png")
    assert (tmp_path / "scores.png").stat().st_size > 5000
