"""A smaller run of ``benchmarks/soak_bind.py``: faults on, a colleague writing over HTTP.

Every b24nb add that replaced an owner the journal did not record is a silent move; the only
ones allowed are those whose replaced owner was set *after* the guard's re-read of that order
(the window the server's silent replace leaves open, measured by the soak). Outside it: none,
and after ``unbind()`` every order has the owner it would have had without b24nb.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak_bind.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("soak_bind", SOAK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_soak_800_pairs_no_silent_move_outside_the_window_and_no_lost_owner(tmp_path):
    r = load_soak().run_soak(800, 0.05, seed=3, journal_path=tmp_path / "j.sqlite")
    shown = {k: v for k, v in r.items() if k not in ("changes", "expected", "now")}
    assert r["colleague_writes"] >= 10, shown  # the colleague really wrote during the run
    assert r["faults_injected"] > 0, shown
    assert r["held_back"] > 0, shown  # and the guard caught changes made after planning
    assert r["guard_misses"] == 0, shown
    assert r["silent_moves"] == r["window_hits"], shown
    assert r["lost_outside_window"] == 0, shown
    assert r["disagreements"] == 0, shown
    assert sum(r["bind"].values()) == 800, shown
    assert "pending" not in r["bind"], shown
    assert "failed" not in r["bind"], shown
