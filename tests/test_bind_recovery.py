"""Every failure point of bind()/unbind(), against the sandbox: nothing lost, nothing twice.

Each test breaks a run at one place — a write that landed but whose answer was lost
(``after=True`` faults), an exception between the journal's "sent" and "answer", an auth
failure, a frame changed or replaced between runs, two portals sharing one journal, a journal
on a read-only disk — and then checks that the frame, the journal and the portal tell the
same story, and that a rerun finishes without sending anything twice.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import b24nb
from b24nb.auth import OAuth
from b24nb.binding import portal_identity
from b24nb.journal import WRITE_KEYS, Journal, JournalError
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import make_pairs, portal_owners


def sandbox(n: int = 200, **kw) -> Sandbox:
    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, n + 101)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 10.0} for i in range(1, n + 1)]
    return Sandbox(demo=False, deals=deals, orders=orders, limits=False, latency=False, **kw)


def adds(sb: Sandbox) -> int:
    return sb.stats.method_calls.get("crm.orderentity.add", 0)


def no_pending(journal: Journal, portal: Portal) -> bool:
    return not journal.pending_orders(portal_identity(portal))


@pytest.fixture
def journal(journal_path) -> Iterator[Journal]:
    with Journal(journal_path) as j:
        yield j


@pytest.mark.parametrize(("kind", "after"), [("reset", True), ("500", True), ("reset", False),
                                             ("500", False)])
def test_a_lost_answer_is_settled_and_every_order_is_bound_once(journal, kind, after):
    """after=True: the batch ran and only its answer was lost; False: it never ran."""
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        sb.faults.add(method="crm.orderentity.add", kind=kind, after=after, times=1)
        pairs = make_pairs(list(range(1, 121)))
        summary = b24nb.bind(portal, pairs, journal=journal, progress=False)
        assert summary["bound"] == 120
        assert set(pairs["bind_status"]) == {"bound"}
        assert portal_owners(sb) == {o: o for o in range(1, 121)}
        # the portal ran each add once: a batch that landed was settled by reading back and
        # never resent; one refused before it ran was resent once
        assert adds(sb) == 120
        h = b24nb.history(journal)
        settled = h[h.event == "settle"]
        # batches of 50, 50 and 20 go out in parallel; the one that meets the fault first is
        # settled as a whole, and only that one
        assert len(settled) in (50, 20)
        assert settled.send_id.nunique() == len(settled)
        assert settled.status.eq("bound").all() if after else settled.status.isna().all()
        assert no_pending(journal, portal)
        made = h[h.event.isin(["answer", "settle"]) & h.status.eq("bound")]
        assert made.order_id.is_unique
        assert len(made) == 120


WRITES = ("crm.orderentity.add", "crm.orderentity.deleteByFilter")


def _lose_answers_after(portal: Portal, batches: int) -> None:
    """Let ``batches`` write batches through, then one that runs on the portal but whose
    answer never comes back to bind(): an exception between journal "sent" and "answer"."""
    real = portal.batch
    seen = {"writes": 0}
    lock = threading.Lock()

    def batch(commands, **kw):
        writes = any(m in WRITES for m, _ in dict(commands).values())
        with lock:  # batches go several at a time: each counts itself before it is sent
            if writes:
                seen["writes"] += 1
            nth = seen["writes"]
        answers = real(commands, **kw)
        if writes and nth == batches + 1:
            raise KeyboardInterrupt  # the analyst pressed Stop while the answer was on its way
        return answers

    portal.batch = batch  # type: ignore[method-assign]


def test_interrupt_between_sent_and_answer_leaves_pending_rows_that_a_rerun_settles(journal):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        pairs = make_pairs(list(range(1, 151)))
        _lose_answers_after(portal, batches=1)
        with pytest.raises(KeyboardInterrupt):  # one batch at a time: the third is not sent
            b24nb.bind(portal, pairs, journal=journal, progress=False, in_flight=1)
        counts = pairs["bind_status"].value_counts().to_dict()
        assert counts == {"bound": 50, "pending": 50, "skipped": 50}
        assert pairs.loc[pairs.bind_status == "pending", "bind_message"].str.contains(
            "rerun to settle").all()
        assert len(portal_owners(sb)) == 100  # the second batch did land
        assert journal.pending_orders(portal_identity(portal)) == set(range(51, 101))

        del portal.batch  # back to the real client
        sent = adds(sb)
        b24nb.bind(portal, pairs, journal=journal, progress=False)
        assert set(pairs["bind_status"]) == {"bound"}
        assert adds(sb) - sent == 50  # only the 50 never sent; the lost batch was read back
        assert portal_owners(sb) == {o: o for o in range(1, 151)}
        assert no_pending(journal, portal)


def test_unticked_pending_rows_are_still_settled_by_the_next_run(journal):
    """The analyst unticks the rows left pending and binds something else: the journal's
    unanswered sends are settled anyway, and the frame's pending rows say what happened."""
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        pairs = make_pairs(list(range(1, 101)))
        _lose_answers_after(portal, batches=0)
        with pytest.raises(KeyboardInterrupt):
            b24nb.bind(portal, pairs, journal=journal, progress=False)
        del portal.batch
        pending = pairs.index[pairs.bind_status == "pending"]
        assert len(pending) == 50
        pairs["selected"] = False
        pairs.loc[pairs.index[-1], "selected"] = True  # one unrelated row
        b24nb.bind(portal, pairs, journal=journal, progress=False)
        assert no_pending(journal, portal)
        assert set(pairs.loc[pending, "bind_status"]) == {"bound"}
        assert pairs.loc[pending, "bind_message"].str.contains("applied").all()
        assert pairs.loc[pending, "current_owner_id"].tolist() == pairs.loc[pending,
                                                                            "deal_id"].tolist()
        h = b24nb.history(journal)
        # exactly the orders left pending: batches go several at a time, so which one lost its
        # answer (orders 1-50 or 51-100) depends on which thread counted itself first
        lost = {int(o) for o in pairs.loc[pending, "order_id"]}
        assert lost in ({*range(1, 51)}, {*range(51, 101)})
        assert {int(o) for o in h.loc[h.event == "settle", "order_id"]} == lost


def test_rerun_with_another_frame_over_the_same_journal_sends_nothing_twice(journal):
    """A new suggest() after a kernel restart: other pair ids, other row order, some rows
    new. Only the orders never bound are sent; pair ids reused for other pairs are not
    overwritten by the old run's settlements."""
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        first = make_pairs(list(range(1, 101)))
        _lose_answers_after(portal, batches=1)
        with pytest.raises(KeyboardInterrupt):
            b24nb.bind(portal, first, journal=journal, progress=False)
        del portal.batch
        assert len(portal_owners(sb)) == 100
        sent = adds(sb)
        # pair 0..49 now name orders 200..151 and 51..100, in reverse: nothing lines up
        second = make_pairs([*range(200, 150, -1), *range(100, 50, -1)])
        b24nb.bind(portal, second, journal=journal, progress=False)
        assert adds(sb) - sent == 50  # orders 151..200 only
        assert set(second["bind_status"]) == {"bound"}
        assert portal_owners(sb) == {o: o for o in [*range(1, 101), *range(151, 201)]}
        assert no_pending(journal, portal)
        assert second.loc[second.order_id > 150, "bind_message"].str.startswith("bound").all()


def test_frame_changed_between_runs_is_read_from_portal_and_journal_not_trusted(journal):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        pairs = make_pairs([1, 2, 3])
        b24nb.bind(portal, pairs, journal=journal, progress=False)
        sent = adds(sb)
        # the analyst edits the frame: drops the log columns, points pair 0 at another deal
        pairs = pairs.drop(columns=["bind_status", "bind_message", "bind_at"])
        pairs.loc[0, "deal_id"] = 77
        summary = b24nb.bind(portal, pairs, journal=journal, progress=False)
        assert adds(sb) == sent  # order 1 is bound to deal 1: moving it needs allow_rebind
        assert pairs.loc[0, "bind_status"] == "needs_rebind"
        assert "deal 1" in pairs.loc[0, "bind_message"]
        assert pairs.loc[[1, 2], "bind_status"].tolist() == ["bound", "bound"]
        assert summary["bound"] == 2
        assert portal_owners(sb) == {1: 1, 2: 2, 3: 3}


def test_auth_failure_mid_run_then_rerun_binds_the_rest_exactly_once(journal):
    with sandbox() as sb:
        good = sb.url
        with Portal(good, progress=False) as portal:
            pairs = make_pairs(list(range(1, 151)))
            calls = []

            def revoke(ids):
                calls.append(ids)
                if len(calls) == 2:
                    portal._auth._base = portal._auth._base.replace("/rest/1/", "/rest/9/")

            with pytest.raises(b24nb.errors.AuthError):
                b24nb.bind(portal, pairs, journal=journal, progress=False, on_update=revoke,
                           in_flight=1)  # one batch at a time: the next one meets the revoke
        # the guard's re-read of the second batch was refused: nothing more was sent, and
        # the rows say so (never "pending", which means sent without an answer)
        assert pairs["bind_status"].value_counts().to_dict() == {
            "bound": 50, "failed": 50, "skipped": 50}
        assert pairs["bind_message"].iloc[60].startswith("not sent")
        with Portal(good, progress=False) as portal:
            before = adds(sb)
            b24nb.bind(portal, pairs, journal=journal, progress=False)
            assert adds(sb) - before == 100
            assert set(pairs["bind_status"]) == {"bound"}
            assert portal_owners(sb) == {o: o for o in range(1, 151)}
            assert no_pending(journal, portal)


def test_two_portals_sharing_one_journal_keep_separate_ledgers(journal):
    """The same order ids on two portals: binding on one says nothing about the other, and
    an unanswered send on one is never settled by reading the other."""
    with sandbox() as a, sandbox() as b, \
            Portal(a.url, progress=False) as pa, Portal(b.url, progress=False) as pb:
        assert portal_identity(pa) != portal_identity(pb)
        on_a = make_pairs(list(range(1, 61)))
        _lose_answers_after(pa, batches=1)  # order 51..60 sent on A, answer lost
        with pytest.raises(KeyboardInterrupt):
            b24nb.bind(pa, on_a, journal=journal, progress=False, in_flight=1)
        on_b = make_pairs(list(range(1, 61)))
        b24nb.bind(pb, on_b, journal=journal, progress=False, in_flight=1)
        assert set(on_b["bind_status"]) == {"bound"}  # not "done earlier" from A's runs
        assert adds(b) == 60
        assert journal.pending_orders(portal_identity(pa)) == set(range(51, 61))
        b24nb.unbind(pb, on_b, journal=journal, progress=False, in_flight=1)
        assert b.bindings() == []
        assert len(a.bindings()) == 60  # A untouched by B's undo
        del pa.batch
        b24nb.bind(pa, on_a, journal=journal, progress=False, in_flight=1)
        assert adds(a) == 60
        assert no_pending(journal, pa)


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """``path`` made read-only for this process: a read-only bind mount when root (root
    ignores file modes), else the directory's write bits removed."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield path
        finally:
            path.chmod(0o755)
        return
    ro = path.parent / (path.name + "-ro")
    ro.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(path), str(ro)], capture_output=True)
    if mounted.returncode != 0:
        pytest.fail(f"cannot make a read-only mount for the test: {mounted.stderr!r}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], check=True)
        yield ro
    finally:
        subprocess.run(["umount", str(ro)], check=True)


def test_journal_on_a_read_only_path_sends_nothing_and_says_where(tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    with Journal(folder / "journal.sqlite") as j:  # an earlier run's journal, now read-only
        run = j.start_run("http://x#user1", "bind")
        j.record_sends("http://x#user1", run, [dict.fromkeys(WRITE_KEYS, None)])
    with sandbox() as sb, Portal(sb.url, progress=False) as portal, \
            read_only_dir(folder) as ro:
        for path in (ro / "journal.sqlite", ro / "new.sqlite"):
            pairs = make_pairs([1, 2, 3])
            before = sb.stats.http_requests
            with pytest.raises(JournalError) as info:
                b24nb.bind(portal, pairs, journal=path, progress=False)
            assert str(path) in str(info.value)
            assert "nothing was sent" in str(info.value)
            assert sb.stats.http_requests == before
            assert sb.bindings() == []
            assert pairs["bind_status"].isna().all()
        # the audit trail stays readable, and a dry run (it writes nothing) still works
        assert len(b24nb.history(ro / "journal.sqlite")) == 2
        assert b24nb.history(ro / "new.sqlite").empty
        assert not (ro / "new.sqlite").exists()
        pairs = make_pairs([1, 2, 3])
        b24nb.bind(portal, pairs, journal=ro / "journal.sqlite", dry_run=True, progress=False)
        assert set(pairs["bind_status"]) == {"dry_run"}


def test_no_secret_reaches_the_journal_file_history_or_frame(journal_path):
    """Webhook secret and OAuth tokens: grep the SQLite bytes (with its WAL) after a run full
    of faults whose error messages are the most likely place for a secret to leak."""
    with sandbox() as sb:
        secret = sb.url.rstrip("/").rsplit("/", 1)[-1]
        tokens = sb.issue_tokens(expires_in=3600) | sb.oauth_client()
        oauth = OAuth.from_mapping(tokens)
        sb.faults.add(method="crm.orderentity.add", kind="500", p=0.5, seed=2)
        sb.faults.add(method="*", kind="reset", p=0.1, seed=3)
        sb.faults.add(method="crm.orderentity.add", kind="reset", after=True, p=0.2, seed=4)
        frames = []
        with Journal(journal_path) as j:
            with Portal(sb.url, progress=False) as portal:
                frames.append(make_pairs(list(range(1, 101))))
                b24nb.bind(portal, frames[-1], journal=j, progress=False)
                b24nb.unbind(portal, frames[-1], journal=j, progress=False)
            with Portal(oauth, progress=False) as portal:
                frames.append(make_pairs(list(range(101, 151))))
                b24nb.bind(portal, frames[-1], journal=j, progress=False)
        secrets = [secret, tokens["access_token"], tokens["refresh_token"],
                   tokens["client_secret"]]
        assert all(len(s) >= 8 for s in secrets)
        raw = b"".join(p.read_bytes() for p in journal_path.parent.glob("journal.sqlite*"))
        assert b"crm.orderentity.add" in raw  # the grep reads the real content
        history = b24nb.history(journal_path).to_csv()
        shown = history + "".join(f.to_csv() for f in frames)
        for s in secrets:
            assert s.encode() not in raw
            assert s not in shown


def test_a_binding_made_through_one_user_is_undone_and_resumed_through_another(journal):
    """Webhooks of two users of the same portal share its ledger: an order has one owner
    there whoever asks, so undo and resume must not depend on who sent the write."""
    with sandbox() as sb, Portal(sb.url, progress=False) as alice, \
            Portal(sb.url, progress=False) as bob:
        alice.identity = portal_identity(bob).replace("#user1", "#user7")  # another webhook
        assert portal_identity(alice) != portal_identity(bob)
        pairs = make_pairs(list(range(1, 61)))
        _lose_answers_after(alice, batches=1)  # orders 51..60 sent by alice, answer lost
        with pytest.raises(KeyboardInterrupt):
            b24nb.bind(alice, pairs, journal=journal, progress=False, in_flight=1)
        assert journal.pending_orders(portal_identity(bob)) == set(range(51, 61))
        sent = adds(sb)
        b24nb.bind(bob, pairs, journal=journal, progress=False, in_flight=1)  # bob finishes the run
        assert adds(sb) == sent
        assert set(pairs["bind_status"]) == {"bound"}
        assert no_pending(journal, alice)
        b24nb.unbind(bob, pairs, journal=journal, progress=False, in_flight=1)  # and takes it back
        assert set(pairs["bind_status"]) == {"unbound"}
        assert sb.bindings() == []
        assert set(b24nb.history(journal, portal=bob)["portal"]) == {
            portal_identity(alice), portal_identity(bob)}


def test_access_denied_inside_a_batch_stops_the_run_and_a_rerun_finishes(journal):
    """The sale module right is revoked mid-run: the portal answers 200040300020 for each
    command. The run stops after that batch instead of failing 50 rows per request to the end."""
    from b24nb.errors import AccessDeniedError
    from b24nb.portal import CommandResult

    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        real = portal.batch
        writes = {"n": 0}

        def batch(commands, **kw):
            commands = dict(commands)
            if not any(m == "crm.orderentity.add" for m, _ in commands.values()):
                return real(commands, **kw)
            writes["n"] += 1
            if writes["n"] == 1:
                return real(commands, **kw)
            err = AccessDeniedError("200040300020", "Access Denied", method="crm.orderentity.add")
            return {k: CommandResult(k, m, False, None, err) for k, (m, _) in commands.items()}

        portal.batch = batch  # type: ignore[method-assign]
        pairs = make_pairs(list(range(1, 201)))
        with pytest.raises(AccessDeniedError):  # one batch at a time: later ones never leave
            b24nb.bind(portal, pairs, journal=journal, progress=False, in_flight=1)
        assert writes["n"] == 2
        assert pairs["bind_status"].value_counts().to_dict() == {
            "bound": 50, "failed": 50, "skipped": 100}
        assert set(pairs.loc[pairs.bind_status == "failed", "bind_error"]) == {"200040300020"}
        assert no_pending(journal, portal)
        del portal.batch
        b24nb.bind(portal, pairs, journal=journal, progress=False)
        assert set(pairs["bind_status"]) == {"bound"}
        assert adds(sb) == 200


def test_unbind_interrupted_between_sent_and_answer_is_finished_by_a_rerun(journal):
    """Undo is a write too: removals and restores whose answers were lost are read back."""
    # orders 1..60 belong to deal 100+i today; b24nb moves them, and 61..120 are new
    today = [{"orderId": o, "ownerId": 100 + o, "ownerTypeId": 2} for o in range(1, 61)]
    with sandbox(bindings=today) as sb, Portal(sb.url, progress=False) as portal:
        before = portal_owners(sb)
        pairs = make_pairs(list(range(1, 121)))
        b24nb.bind(portal, pairs, journal=journal, allow_rebind=True, progress=False)
        assert pairs["bind_status"].value_counts().to_dict() == {"rebound": 60, "bound": 60}
        _lose_answers_after(portal, batches=1)
        with pytest.raises(KeyboardInterrupt):  # one batch at a time: the third is not sent
            b24nb.unbind(portal, pairs, journal=journal, progress=False, in_flight=1)
        assert (pairs["bind_status"] == "pending").sum() == 50
        assert journal.pending_orders(portal_identity(portal))
        del portal.batch
        calls = dict(sb.stats.method_calls)
        b24nb.unbind(portal, pairs, journal=journal, progress=False)
        assert set(pairs["bind_status"]) == {"unbound"}
        assert portal_owners(sb) == before  # replaced owners back, new bindings gone
        assert no_pending(journal, portal)
        sent = {m: sb.stats.method_calls.get(m.lower(), 0) - calls.get(m.lower(), 0)
                for m in ("crm.orderentity.add", "crm.orderentity.deleteByFilter")}
        # only the 20 never sent; the lost batch (10 restores, 40 removals) was read back
        assert sent == {"crm.orderentity.add": 0, "crm.orderentity.deleteByFilter": 20}
