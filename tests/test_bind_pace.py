"""Writes at the portal's pace: ETA, paced parallel batches, Stop, and a rerun that finishes.

The sandbox charges the seed's 0.3278 s per ``crm.orderentity.add`` against the operating
budget; clocks are scaled so the runs take seconds. Every test ends with the frame, the
journal and the portal (read back over HTTP) agreeing, each order bound exactly once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import b24nb
from b24nb.binding import portal_identity
from b24nb.binding.control import RunControl
from b24nb.binding.pace import estimate, format_duration
from b24nb.journal import Journal
from b24nb.limits import ScaledClock
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import make_pairs
from b24nb.widgets import review
from b24nb.widgets._synthetic import synthetic_pairs


def portal_sandbox(n: int, **kw) -> Sandbox:
    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, n + 1)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 10.0} for i in range(1, n + 1)]
    return Sandbox(demo=False, deals=deals, orders=orders, limits=True, latency=True, **kw)


def scaled(sb: Sandbox, **kw) -> Portal:
    return Portal(sb.url, progress=False, clock=ScaledClock(sb.time_scale, now=sb.clock), **kw)


def assert_frame_journal_portal_agree(sb, portal, pairs, journal_path) -> None:
    """Every row bound, each order once on the portal, and the journal says the same."""
    on_portal = b24nb.load_bindings(b24nb.connect(sb.url, progress=False), progress=False)
    expected = {int(o): int(d) for o, d in zip(pairs["order_id"], pairs["deal_id"],
                                                strict=True)}
    assert {int(o): int(v) for o, v in on_portal["owner_id"].items()} == expected
    assert set(pairs["bind_status"]) <= {"bound", "already_bound"}
    assert sb.stats.method_calls["crm.orderentity.add"] == len(pairs)  # nothing sent twice
    with Journal(journal_path) as j:
        ledgers = j.ledgers(portal_identity(portal), list(expected))
    assert all(ledgers[o].pending is None for o in expected)
    assert {o: ledgers[o].ours for o in expected} == {o: (d, 2) for o, d in expected.items()}


@pytest.mark.parametrize(
    ("writes", "expect", "bound_by"),
    [
        (0, 0.0, "nothing"),
        (50, 50 * 0.3278, "server time"),  # one batch: its own server time
        (400, 2 * 50 * 0.3278, "server time"),  # 8 batches, 4 at a time: two rounds
        (10_000, 3600.0, "operating-time budget"),  # seven 10-minute windows
    ],
)
def test_estimate_plays_the_run_through_the_portals_limits(writes, expect, bound_by):
    e = estimate(writes)
    assert e.bound_by == bound_by
    assert e.seconds == pytest.approx(expect, rel=0.05, abs=1.0) or e.seconds >= expect
    assert e.seconds <= expect * 1.05 + 120  # and not far above it


def test_estimate_text_says_what_bounds_the_run():
    big = estimate(10_000)
    assert big.text.startswith("≈ ")
    assert "the portal allows about 1,4" in big.text
    assert "bindings per 10 minutes" in big.text
    assert estimate(10_000, cost=0.3278, limit=240.0).seconds > 1.9 * big.seconds * 0.9
    assert format_duration(40) == "40 s"
    assert format_duration(240) == "4 min"
    assert format_duration(4210) == "1 h 10 min"


def test_a_budget_bound_run_waits_for_the_reset_says_why_and_provokes_no_refusal(journal_path):
    # a budget of 50 s per 10 minutes: 600 adds need four windows of waiting
    with portal_sandbox(600, time_scale=1000, operating_limit=50.0) as sb:
        portal = scaled(sb, operating_limit=50.0)
        pairs = make_pairs(600)
        seen = []
        control = RunControl(on_progress=seen.append)
        sb.stats.reset()
        summary = b24nb.bind(portal, pairs, progress=False, control=control)
        assert summary["bound"] == 600
        assert sb.stats.refused_429 == 0
        assert sb.stats.refused_503 == 0
        assert summary.waited_seconds > 3 * 500  # portal seconds: the windows were waited out
        waits = [p.waiting for p in seen if p.waiting]
        assert any("operating-time limit of crm.orderentity.add" in w for w in waits)
        assert all(p.total == 600 for p in seen)
        assert any(p.eta is not None and p.eta > 0 for p in seen)
        assert summary.eta is not None
        assert summary.eta.bound_by == "operating-time budget"
        assert_frame_journal_portal_agree(sb, portal, pairs, journal_path)


def test_batches_go_several_at_a_time_on_disjoint_orders(journal_path):
    with portal_sandbox(400, time_scale=20) as sb:
        portal = scaled(sb)
        pairs = make_pairs(400)
        sb.stats.reset()
        summary = b24nb.bind(portal, pairs, progress=False)
        # 8 batches of 16.4 s of server time: two rounds of four, not eight one after another
        wall = summary.eta.seconds if summary.eta else 0
        assert wall == pytest.approx(2 * 50 * 0.3278, rel=0.1)
        # 8 write batches, the guard's re-read before each, and the first owner read
        assert summary.http_requests <= 17
        assert_frame_journal_portal_agree(sb, portal, pairs, journal_path)


def test_stop_from_code_finishes_the_batches_in_flight_and_a_rerun_finishes(journal_path):
    with portal_sandbox(600, time_scale=20) as sb:
        portal = scaled(sb)
        pairs = make_pairs(600)
        control = RunControl()
        calls = []

        def stop_after_first_batch(ids):
            calls.append(ids)
            if len(calls) == 2:
                control.stop()

        summary = b24nb.bind(portal, pairs, progress=False, control=control,
                             on_update=stop_after_first_batch)
        counts = pairs["bind_status"].value_counts().to_dict()
        assert summary.stopped == "stopped"
        # the four batches in flight were answered; the other eight were never sent
        assert counts == {"bound": 200, "skipped": 400}
        assert len(sb.bindings()) == 200
        assert summary.line.startswith("stopped: 200 bound; 400 not sent — rerun to finish")
        with Journal(journal_path) as j:
            assert not j.pending_orders(portal_identity(portal))
        b24nb.bind(portal, pairs, progress=False)
        assert_frame_journal_portal_agree(sb, portal, pairs, journal_path)


def grid_frame(n: int) -> pd.DataFrame:
    frame = synthetic_pairs(n, seed=0)
    ids = np.arange(1, n + 1)
    frame["order_id"] = pd.array(ids, dtype="Int64")
    frame["deal_id"] = pd.array(ids, dtype="Int64")
    frame["owner_type_id"] = pd.array([2] * n, dtype="Int64")
    frame["score"] = np.full(n, 0.95)
    for col in ("current_owner_id", "current_owner_type_id"):
        frame[col] = pd.array([None] * n, dtype="Int64")
    frame["rebind"] = pd.array([False] * n, dtype="boolean")
    frame["selected"] = pd.array([True] * n, dtype="boolean")
    return frame


def test_grid_stop_mid_run_then_bind_selected_finishes_every_pair_once(journal_path):
    with portal_sandbox(600, time_scale=10) as sb:
        portal = scaled(sb)
        pairs = grid_frame(600)
        picker = review(pairs, portal=portal)
        picker.bind_button.click()
        assert "≈" in picker.confirm_html.value  # the ETA before the run
        picker.confirm_button.click()
        assert picker.actions.running  # the click returned while the run goes on
        # the kernel is free meanwhile: paging works during the run
        page = picker.page_label.value
        picker.next_button.click()
        assert picker.page_label.value != page
        while not (pairs["bind_status"] == "bound").any():
            assert picker.actions.running
            picker.actions.join(0.05)
        picker.stop_button.click()
        assert picker.actions.join(60)
        counts = pairs["bind_status"].value_counts().to_dict()
        assert set(counts) == {"bound", "skipped"}
        assert counts["bound"] % 50 == 0
        assert len(sb.bindings()) == counts["bound"]
        line = picker.message.value
        assert f"stopped: {counts['bound']} bound" in line
        assert f"{counts['skipped']} not sent — click Bind selected to finish" in line
        assert picker.progress.bar_style == "warning"
        assert pairs["selected"].all()  # the ticks were the analyst's and stay
        assert picker.bind_button.description == f"Bind selected ({counts['skipped']})"
        picker.bind_button.click()
        picker.confirm_button.click()
        assert picker.actions.join(60)
        assert "done: " in picker.message.value
        assert_frame_journal_portal_agree(sb, portal, pairs, journal_path)


def test_grid_after_a_restart_says_the_last_run_was_cut_off(journal_path):
    with portal_sandbox(200, time_scale=20) as sb:
        # another process binds and dies hard after its first batch: no end note, no finally
        script = textwrap.dedent(f"""
            import os, b24nb
            from b24nb.testing import make_pairs
            pairs = make_pairs(200)
            calls = []
            def die(ids):
                calls.append(ids)
                if len(calls) == 2:
                    os._exit(9)
            b24nb.bind(b24nb.connect({sb.url!r}, progress=False), pairs, progress=False,
                       on_update=die, in_flight=1, journal={str(journal_path)!r})
        """)
        proc = subprocess.run([sys.executable, "-c", script], timeout=120,
                              env={**os.environ}, capture_output=True)
        assert proc.returncode == 9, proc.stderr.decode()[-2000:]
        # a new kernel: a new frame, a new grid over the same journal
        picker = review(grid_frame(200), portal=scaled(sb))
        text = picker.message.value
        assert "was cut off (kernel restart, crash or kill): 50 bound" in text
        assert "150 not sent — click Bind selected to finish" in text
        picker.bind_button.click()
        picker.confirm_button.click()
        assert picker.actions.join(60)
        assert "done: 200 bound" in picker.message.value  # the journal knew the first 50
        assert sb.stats.method_calls["crm.orderentity.add"] == 200  # nothing sent twice
        assert len(sb.bindings()) == 200


def test_grid_after_a_stopped_run_says_so_in_a_new_grid(journal_path):
    with portal_sandbox(300, time_scale=20) as sb:
        portal = scaled(sb)
        control = RunControl()
        calls = []

        def stop_after_first_batch(ids):  # the first call names the planned rows
            calls.append(ids)
            if len(calls) == 2:
                control.stop()

        b24nb.bind(portal, make_pairs(300), progress=False, control=control,
                   on_update=stop_after_first_batch, in_flight=1)
        text = review(grid_frame(300), portal=portal).message.value
        assert "stopped: 50 bound; 250 not sent — click Bind selected to finish" in text


def test_progress_bar_shows_the_eta_before_the_run_and_the_rate_during_it(journal_path, capfd):
    with portal_sandbox(200, time_scale=20) as sb:
        summary = b24nb.bind(scaled(sb), make_pairs(200), progress=True)
    err = capfd.readouterr().err
    assert summary["bound"] == 200
    assert "≈ " in err
    assert "200 bindings at about 0.33 s of server time each" in err
    assert re.search(r"\d+\.\d/s", err)  # the rate, once batches are answered
