"""One run per order at a time: a second b24nb run on the same journal skips claimed orders.

The first run is a real second process (a child Python binding through HTTP); claims whose
holder stopped renewing are made by a second run in this process with its heartbeat stopped.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

import b24nb
from b24nb.binding import portal_identity
from b24nb.journal import Journal
from b24nb.journal.claims import Claims
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import binding_disagreements, make_pairs, portal_owners

CHILD = textwrap.dedent("""
    import sys
    import b24nb
    from b24nb.portal import Portal
    from b24nb.testing import make_pairs
    url, journal, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    pairs = make_pairs(range(lo, hi + 1))
    with Portal(url, progress=False) as portal:
        s = b24nb.bind(portal, pairs, journal=journal, progress=False)
    print(dict(s.counts))
""")


def sandbox() -> Sandbox:
    deals = [{"ID": i, "TITLE": f"d{i}"} for i in range(1, 2002)]
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, 2001)]
    return Sandbox(demo=False, deals=deals, orders=orders, limits=False, latency=False)


def claims_in(path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute("SELECT count(*) FROM events WHERE event='claim'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def start_child(tmp_path, sb, journal_path, lo, hi) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, str(script), sb.url, str(journal_path), str(lo),
                             str(hi)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_claims(child, journal_path, n) -> None:
    deadline = time.monotonic() + 60
    while claims_in(journal_path) < n:
        assert child.poll() is None, child.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_second_process_on_overlapping_orders_skips_what_the_first_claimed(tmp_path,
                                                                             journal_path):
    with sandbox() as sb:
        # every add batch takes 0.3 s on the server: the child is mid-run while we start
        sb.faults.add(method="crm.orderentity.add", kind="slow", p=1.0, delay=0.3)
        child = start_child(tmp_path, sb, journal_path, 1, 1000)
        try:
            wait_for_claims(child, journal_path, 1000)
            with Portal(sb.url, progress=False) as portal, Journal(journal_path) as journal:
                ours = make_pairs(range(501, 1501), lambda o: o + 1)  # other deals
                summary = b24nb.bind(portal, ours, journal=journal, progress=False)
                assert summary["skipped"] == 500
                assert summary["bound"] == 500
                claimed = ours[ours.order_id <= 1000]
                assert set(claimed["bind_status"]) == {"skipped"}
                assert claimed["bind_message"].str.startswith("claimed by run ").all()
                assert child.wait(timeout=120) == 0, child.stderr.read().decode()
                owners = portal_owners(sb)
                # each order bound once, by the run that held it; none moved by the other
                assert owners == {o: o for o in range(1, 1001)} | {
                    o: o + 1 for o in range(1001, 1501)}
                assert binding_disagreements(sb, ours, journal, rows=ours.index[500:]) == []
                # once the child is done, a rerun sees its binds: moving them needs rebind
                again = b24nb.bind(portal, ours, journal=journal, progress=False, wait=True)
                assert again["needs_rebind"] == 500
                assert again["bound"] == 500
        finally:
            if child.poll() is None:
                child.kill()


def test_claims_of_a_killed_process_do_not_hold_its_orders(tmp_path, journal_path):
    with sandbox() as sb:
        sb.faults.add(method="crm.orderentity.add", kind="slow", p=1.0, delay=0.3)
        child = start_child(tmp_path, sb, journal_path, 1, 1000)
        try:
            wait_for_claims(child, journal_path, 1000)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
        finally:
            if child.poll() is None:
                child.kill()
        sb.faults.clear()
        with Portal(sb.url, progress=False) as portal, Journal(journal_path) as journal:
            pairs = make_pairs(range(1, 1001))
            summary = b24nb.bind(portal, pairs, journal=journal, progress=False)
            assert summary["skipped"] == 0  # the dead holder's claims lapsed at once
            assert set(pairs["bind_status"]) <= {"bound"}
            assert portal_owners(sb) == {
                o: o for o in range(1, 1001)}


@pytest.fixture
def stalled(journal_path):
    """Another live run's claims on orders 1..10, whose heartbeat stopped (a hung process)."""
    def make(portal, lease):
        j = Journal(journal_path)
        other = Claims(j, portal_identity(portal), "other-run", lease=lease)
        assert other.claim(range(1, 11)) == {}
        other._stop.set()  # no more renewals: the lease runs out by itself
        return j
    return make


def test_a_stalled_run_holds_until_its_lease_lapses(journal_path, stalled):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        j = stalled(portal, 1.0)
        pairs = make_pairs(range(1, 21))
        summary = b24nb.bind(portal, pairs, journal=journal_path, progress=False)
        assert summary["skipped"] == 10
        assert summary["bound"] == 10
        assert "other-run" in pairs["bind_message"].iloc[0]
        assert len(sb.bindings()) == 10
        time.sleep(1.2)
        again = b24nb.bind(portal, pairs, journal=journal_path, progress=False)
        assert again["bound"] == 20  # the lease lapsed; the first ten are "done earlier"
        assert len(sb.bindings()) == 20
        j.close()


def test_wait_true_waits_for_the_claims_then_binds(journal_path, stalled):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        j = stalled(portal, 1.5)
        pairs = make_pairs(range(1, 21))
        t = time.monotonic()
        summary = b24nb.bind(portal, pairs, journal=journal_path, progress=False, wait=True)
        assert time.monotonic() - t >= 1.0
        assert summary["bound"] == 20
        j.close()


def test_a_live_run_renews_its_lease(journal_path):
    with Journal(journal_path) as j:
        c = Claims(j, "http://127.0.0.1:1#user1", "r1", lease=0.3)
        c.claim([1, 2])
        time.sleep(0.8)  # longer than the lease: the heartbeat keeps it alive
        other = Claims(j, "http://127.0.0.1:1#user1", "r2", lease=0.3)
        assert set(other.holders([1, 2, 3])) == {1, 2}
        c.release()
        assert other.holders([1, 2, 3]) == {}
