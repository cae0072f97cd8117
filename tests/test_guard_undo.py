"""Undo follows the chain: every order ends with the owner it had before b24nb touched it.

Chains are made by real runs over HTTP (rebinding twice, a colleague's write in between);
late-landing writes come from a sandbox that runs an add after the client stopped waiting.
"""

from __future__ import annotations

import time

import pytest

import b24nb
from b24nb.binding.identity import portal_identity
from b24nb.journal import Journal
from b24nb.portal import Portal
from b24nb.sandbox import Sandbox
from b24nb.testing import binding_disagreements, call, make_pairs, portal_owners

ORDERS = range(1, 61)


def sandbox(bound_to=51) -> Sandbox:
    orders = [{"id": i, "accountNumber": f"A{i}", "price": 1.0} for i in range(1, 101)]
    deals = [{"ID": i, "TITLE": f"d{i}"} for i in range(1, 200)]
    bindings = [] if bound_to is None else [
        {"orderId": o, "ownerId": bound_to, "ownerTypeId": 2} for o in ORDERS]
    return Sandbox(demo=False, orders=orders, deals=deals, bindings=bindings, limits=False,
                   latency=False)


def kill_after_read_back(portal) -> None:
    """Stop the run (as a kill would) at the guard's re-read that follows the read-back of
    the first write batch: the writes were read back absent and are not resent."""
    real, seen = portal.batch, []

    def batch(cmds, *, halt=False):
        writes = any(m != "crm.orderentity.list" for m, _ in dict(cmds).values())
        seen.append("w" if writes else "r")
        if "w" in seen and seen[seen.index("w"):].count("r") == 2:
            raise KeyboardInterrupt
        return real(cmds, halt=halt)

    portal.batch = batch  # type: ignore[method-assign]


def stopped_after_read_back(sb, journal):
    """Orders 1..30 bound to deal 70 by someone else, then a bind of 1..60 whose first batch's
    answer is lost (the add lands 2 s later) and that stops after reading it back absent.
    Returns (pairs, owners before the run)."""
    for o in range(1, 31):  # half the orders had another owner before
        call(sb.url, "crm.orderentity.add",
             {"fields": {"orderId": o, "ownerId": 70, "ownerTypeId": 2}})
    before = portal_owners(sb)
    sb.faults.add(method="crm.orderentity.add", kind="slow", delay=2.0, times=1)
    with Portal(sb.url, progress=False, timeout=0.5) as portal:
        pairs = make_pairs(ORDERS, lambda o: o)
        kill_after_read_back(portal)
        with pytest.raises(KeyboardInterrupt):
            b24nb.bind(portal, pairs, journal=journal, progress=False,
                       in_flight=1, allow_rebind=True)
    return pairs, before


@pytest.fixture
def journal(journal_path):
    with Journal(journal_path) as j:
        yield j


def rebind_twice(sb, portal, journal):
    a, b = make_pairs(ORDERS, lambda o: 11), make_pairs(ORDERS, lambda o: 21)
    run_a = b24nb.bind(portal, a, journal=journal, progress=False, allow_rebind=True).run_id
    run_b = b24nb.bind(portal, b, journal=journal, progress=False, allow_rebind=True).run_id
    assert set(portal_owners(sb).values()) == {21}
    return a, b, run_a, run_b


def test_undoing_the_second_run_then_the_first_gives_back_the_first_owner(journal):
    """51 → 11 → 21; undo run B (back to 11), then run A: back to 51, not left on 11."""
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        a, b, run_a, run_b = rebind_twice(sb, portal, journal)
        b24nb.unbind(portal, b, run_id=run_b, journal=journal, progress=False)
        assert set(portal_owners(sb).values()) == {11}
        summary = b24nb.unbind(portal, a, run_id=run_a, journal=journal, progress=False)
        assert summary["unbound"] == len(ORDERS)
        assert portal_owners(sb) == dict.fromkeys(ORDERS, 51)
        assert binding_disagreements(sb, a, journal) == []


def test_undoing_the_first_run_while_a_later_run_moved_it_again_is_refused(journal):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        a, _, run_a, run_b = rebind_twice(sb, portal, journal)
        summary = b24nb.unbind(portal, a, run_id=run_a, journal=journal, progress=False)
        assert summary["skipped"] == len(ORDERS)
        assert run_b in a["bind_message"].iloc[0]
        assert set(portal_owners(sb).values()) == {21}  # nothing sent


def test_one_unbind_without_run_id_undoes_the_whole_chain(journal):
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        _, b, _, _ = rebind_twice(sb, portal, journal)
        b24nb.unbind(portal, b, journal=journal, progress=False)
        assert portal_owners(sb) == dict.fromkeys(ORDERS, 51)
        again = b24nb.unbind(portal, b, journal=journal, progress=False)  # nothing left to do
        assert again["unbound"] == len(ORDERS)
        assert portal_owners(sb) == dict.fromkeys(ORDERS, 51)


def test_a_colleague_write_between_two_runs_starts_a_new_chain(journal):
    """51 → 11 (b24nb) → 33 (colleague, plain HTTP) → 21 (b24nb): undo gives back 33."""
    with sandbox() as sb, Portal(sb.url, progress=False) as portal:
        a = make_pairs(ORDERS, lambda o: 11)
        b24nb.bind(portal, a, journal=journal, progress=False, allow_rebind=True)
        for o in ORDERS:
            call(sb.url, "crm.orderentity.add",
                 {"fields": {"orderId": o, "ownerId": 33, "ownerTypeId": 2}})
        b = make_pairs(ORDERS, lambda o: 21)
        b24nb.bind(portal, b, journal=journal, progress=False, allow_rebind=True)
        b24nb.unbind(portal, b, journal=journal, progress=False)
        assert portal_owners(sb) == dict.fromkeys(ORDERS, 33)
        # the first run's binding was replaced by the colleague: undoing it touches nothing
        summary = b24nb.unbind(portal, a, journal=journal, progress=False)
        assert summary["skipped"] == len(ORDERS)
        assert portal_owners(sb) == dict.fromkeys(ORDERS, 33)


def test_a_write_that_lands_after_the_read_back_is_b24nbs_and_undone(journal):
    """The add runs after the client stopped waiting and after its read-back found nothing;
    the run stops before resending. The rerun counts the late write as b24nb's, not as
    someone else's ``already_bound``, and unbind() gives each order back its old owner."""
    with sandbox(bound_to=None) as sb:
        pairs, before = stopped_after_read_back(sb, journal)
        assert set(pairs["bind_status"]) == {"skipped"}  # read back absent, not resent
        time.sleep(2.5)  # the add lands on the server now
        # the first batch (orders 1..50) landed; 51..60 were never sent
        assert portal_owners(sb) == {o: o for o in range(1, 51)}
        with Portal(sb.url, progress=False) as portal:
            adds = sb.stats.method_calls["crm.orderentity.add"]
            summary = b24nb.bind(portal, pairs, journal=journal, progress=False, in_flight=1,
                                 allow_rebind=True)
            # only 51..60 are sent: the late writes are not resent
            assert sb.stats.method_calls["crm.orderentity.add"] == adds + 10
            assert summary["already_bound"] == 0
            assert summary["rebound"] == 30
            assert summary["bound"] == 30
            assert "landed late" in pairs["bind_message"].iloc[0]
            assert binding_disagreements(sb, pairs, journal) == []
            b24nb.unbind(portal, pairs, journal=journal, progress=False, in_flight=1)
            assert portal_owners(sb) == before


def test_an_undo_that_lands_after_its_read_back_counts_as_done(journal):
    """A restore runs after the client stopped waiting and after the read-back found it not
    applied; the run stops. The next unbind() reads the order back on its old owner: done."""
    with sandbox() as sb:
        with Portal(sb.url, progress=False) as portal:
            pairs = make_pairs(ORDERS, lambda o: 11)
            b24nb.bind(portal, pairs, journal=journal, progress=False,
                       in_flight=1, allow_rebind=True)
        sb.faults.add(method="crm.orderentity.add", kind="slow", delay=2.0, times=1)
        with Portal(sb.url, progress=False, timeout=0.5) as portal:
            kill_after_read_back(portal)
            with pytest.raises(KeyboardInterrupt):
                b24nb.unbind(portal, pairs, journal=journal, progress=False, in_flight=1)
        time.sleep(2.5)  # the restores land now
        assert portal_owners(sb) == dict.fromkeys(ORDERS, 11) | dict.fromkeys(range(1, 51), 51)
        with Portal(sb.url, progress=False) as portal:
            adds = sb.stats.method_calls["crm.orderentity.add"]
            summary = b24nb.unbind(portal, pairs, journal=journal, progress=False, in_flight=1)
            assert summary["unbound"] == len(ORDERS)
            assert sb.stats.method_calls["crm.orderentity.add"] == adds + 10  # 51..60 only
            assert "landed late" in pairs["bind_message"].iloc[0]
            assert portal_owners(sb) == dict.fromkeys(ORDERS, 51)
            # and the chain is closed: binding again is a fresh rebind from 51
            again = b24nb.bind(portal, pairs, journal=journal, progress=False, in_flight=1,
                               allow_rebind=True)
            assert again["rebound"] == len(ORDERS)


def test_a_late_write_the_guard_finds_at_its_target_is_b24nbs_and_undone(journal):
    """The first run's add lands after the rerun read the owners but before the guard's
    re-read of the batch: the guard holds the write back as ``already_bound`` (nothing is
    sent), and the journal still counts the binding as b24nb's — so unbind() undoes it and
    gives each order back its old owner (seen once as a race in the kill-and-rerun soak)."""
    with sandbox(bound_to=None) as sb:
        pairs, before = stopped_after_read_back(sb, journal)
        with Portal(sb.url, progress=False) as portal:
            real, reads = portal.batch, []

            def batch(cmds, *, halt=False):
                if all(m == "crm.orderentity.list" for m, _ in dict(cmds).values()):
                    reads.append(1)
                    if len(reads) == 2:  # the guard's re-read of the first batch
                        time.sleep(2.5)  # the first run's add lands now
                return real(cmds, halt=halt)

            portal.batch = batch  # type: ignore[method-assign]
            summary = b24nb.bind(portal, pairs, journal=journal, progress=False, in_flight=1,
                                 allow_rebind=True)
            assert summary["already_bound"] == 50  # held back by the guard, not resent
            assert portal_owners(sb) == {o: o for o in range(1, 61)}
            ledgers = journal.ledgers(portal_identity(portal), list(range(1, 51)))
            assert all(ledgers[o].ours == (o, 2) for o in range(1, 51))
            portal.batch = real  # type: ignore[method-assign]
            b24nb.unbind(portal, pairs, journal=journal, progress=False, in_flight=1)
            assert portal_owners(sb) == before
