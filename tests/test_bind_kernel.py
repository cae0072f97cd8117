"""A kernel interrupt mid-run, in a real Jupyter kernel, then a rerun that finishes.

The sandbox runs in this process; a kernel started with jupyter_client binds 400 pairs on it
(adds at the seed's 0.33 s, clock ×5, so a batch takes ~3 s and four go at once). As soon as
the first batches reach the portal the test interrupts the kernel, as *Interrupt kernel*
does. The batches in flight must be answered into the frame and the journal, nothing more
sent, the one-line summary shown; a rerun then binds every pair exactly once, and the frame,
the journal and the portal (read back over HTTP) agree.
"""

from __future__ import annotations

import json
import os
import time

import b24nb
from b24nb.binding import portal_identity
from b24nb.journal import Journal
from b24nb.sandbox import Sandbox

N = 400

SETUP = """
import json, b24nb, pandas as pd
ids = list(range(1, {n} + 1))
pairs = pd.DataFrame({{"deal_id": pd.array(ids, dtype="Int64"),
    "order_id": pd.array(ids, dtype="Int64"),
    "owner_type_id": pd.array([2] * {n}, dtype="Int64"),
    "selected": pd.array([True] * {n}, dtype="boolean")}},
    index=pd.Index(range({n}), name="pair_id", dtype="Int64"))
portal = b24nb.connect({url!r}, progress=False)
J = {journal!r}
"""

REPORT = """
print("REPORT=" + json.dumps({
    "counts": {str(k): int(v) for k, v in pairs["bind_status"].value_counts().items()},
    "bound": sorted(int(o) for o in pairs.loc[pairs["bind_status"] == "bound", "order_id"]),
}))
"""


def run(kc, code: str, timeout: float = 120.0) -> tuple[str, list[dict]]:
    """Execute ``code``; return its stdout+stderr text and its error messages."""
    msg_id = kc.execute(code)
    return collect(kc, msg_id, timeout)


def collect(kc, msg_id: str, timeout: float) -> tuple[str, list[dict]]:
    text, errors = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            text.append(content["text"])
        elif kind == "error":
            errors.append(content)
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(text), errors
    raise AssertionError(f"the kernel did not finish within {timeout:.0f} s: {''.join(text)}")


def report(kc) -> dict:
    out, errors = run(kc, REPORT)
    assert not errors, errors
    line = next(ln for ln in out.splitlines() if ln.startswith("REPORT="))
    return json.loads(line[len("REPORT="):])


def test_kernel_interrupt_mid_bind_leaves_frame_and_journal_exact_and_a_rerun_finishes(
        tmp_path):
    from jupyter_client.manager import start_new_kernel

    journal = str(tmp_path / "journal.sqlite")
    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, N + 1)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 10.0} for i in range(1, N + 1)]
    with Sandbox(demo=False, deals=deals, orders=orders, limits=True, latency=True,
                 time_scale=5) as sb:
        km, kc = start_new_kernel(kernel_name="python3", env={**os.environ})
        try:
            out, errors = run(kc, SETUP.format(n=N, url=sb.url, journal=journal))
            assert not errors, errors
            msg_id = kc.execute("b24nb.bind(portal, pairs, journal=J, progress=True)")
            deadline = time.monotonic() + 60
            while not sb.bindings():  # the first batches are on the portal, answers on the way
                assert time.monotonic() < deadline, "nothing reached the portal"
                time.sleep(0.02)
            km.interrupt_kernel()
            out, errors = collect(kc, msg_id, 120)
            assert [e["ename"] for e in errors] == ["KeyboardInterrupt"]
            shown = out + "\n".join("\n".join(e["traceback"]) for e in errors)
            got = report(kc)
            counts = got["counts"]
            bound = counts.get("bound", 0)
            # the batches in flight were answered; nothing was left unanswered or half-sent
            assert set(counts) == {"bound", "skipped"}
            assert bound > 0
            assert bound % 50 == 0
            assert bound + counts["skipped"] == N
            assert sorted(b["orderId"] for b in sb.bindings()) == got["bound"]
            with Journal(journal) as j:
                assert not j.pending_orders(portal_identity(
                    b24nb.connect(sb.url, progress=False)))
            assert f"interrupted: {bound} bound; {counts['skipped']} not sent" in shown
            assert "rerun to finish" in shown

            out, errors = run(kc, "summary = b24nb.bind(portal, pairs, journal=J, "
                                  "progress=False); print(summary.line)")
            assert not errors, errors
            assert "done: " in out
            got = report(kc)
            assert got["counts"] == {"bound": N}
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        # frame = journal = portal, each order bound exactly once
        assert sb.stats.method_calls["crm.orderentity.add"] == N
        portal = b24nb.connect(sb.url, progress=False)
        on_portal = b24nb.load_bindings(portal, progress=False)
        assert sorted(int(o) for o in on_portal.index) == got["bound"] == list(range(1, N + 1))
        assert (on_portal["owner_id"].astype(int) == on_portal.index.astype(int)).all()
        with Journal(journal) as j:
            ledgers = j.ledgers(portal_identity(portal), range(1, N + 1))
        assert all(ledgers[o].ours == (o, 2) and ledgers[o].pending is None
                   for o in range(1, N + 1))
