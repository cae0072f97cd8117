"""The journal: append-only, WAL, configurable path, and the fold that resume relies on."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

import b24nb
from b24nb.journal import Journal, default_path, fold, history

PORTAL = "http://127.0.0.1:1#user1"


def _send(
    j: Journal, run: str, order: int, owner: int, prev: int | None = None, action: str = "bind"
) -> int:
    return j.record_sends(
        PORTAL,
        run,
        [
            {
                "action": action,
                "method": "crm.orderentity.add",
                "pair_id": order,
                "order_id": order,
                "owner_id": owner,
                "owner_type_id": 2,
                "prev_owner_id": prev,
                "prev_owner_type_id": None if prev is None else 2,
            }
        ],
    )[0]


def _answer(
    j: Journal,
    run: str,
    send_id: int,
    order: int,
    owner: int,
    status: str | None,
    event: str = "answer",
    action: str = "bind",
) -> None:
    j.record_answers(
        PORTAL,
        run,
        [
            {
                "action": action,
                "send_id": send_id,
                "order_id": order,
                "owner_id": owner,
                "owner_type_id": 2,
                "status": status,
            }
        ],
        event=event,
    )


def test_journal_default_path_follows_environment(journal_path):
    assert default_path() == journal_path
    with Journal() as j:
        assert j.path == journal_path
    assert journal_path.exists()


def test_journal_default_path_without_environment_is_in_home(monkeypatch, tmp_path):
    monkeypatch.delenv("B24NB_JOURNAL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_path() == tmp_path / ".b24nb" / "journal.sqlite"


def test_journal_uses_wal_mode(journal_path):
    Journal().close()
    db = sqlite3.connect(journal_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_journal_refuses_update_and_delete(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        _send(j, run, 10, 5)
    db = sqlite3.connect(journal_path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE events SET status = 'bound'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM events")
    assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 2


def test_journal_send_is_committed_before_answer(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        _send(j, run, 10, 5)
        # another connection (another process after a kill) sees the send already
        other = sqlite3.connect(journal_path)
        rows = other.execute("SELECT event, order_id FROM events WHERE event='send'").fetchall()
        assert rows == [("send", 10)]


def test_history_returns_typed_frame(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind", {"dry_run": False})
        sid = _send(j, run, 10, 5)
        _answer(j, run, sid, 10, 5, "bound")
    h = b24nb.history()
    assert list(h["event"]) == ["run", "send", "answer"]
    assert str(h["at"].dtype) == "datetime64[ns, UTC]"
    assert str(h["order_id"].dtype) == "Int64"
    assert h["status"].iloc[-1] == "bound"
    assert h["response"].iloc[0] == {"dry_run": False}
    assert len(history(run_id=run)) == 3
    assert len(history(run_id="nope")) == 0


def test_history_of_empty_journal_is_empty_frame(journal_path):
    h = history()
    assert isinstance(h, pd.DataFrame)
    assert h.empty
    assert "status" in h.columns


def test_journal_masks_secrets_in_messages(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        sid = _send(j, run, 10, 5)
        j.record_answers(
            PORTAL,
            run,
            [
                {
                    "send_id": sid,
                    "order_id": 10,
                    "status": "failed",
                    "message": "at https://x/rest/1/abcdefsecret/ boom",
                }
            ],
        )
    raw = b"".join(p.read_bytes() for p in journal_path.parent.glob("journal.sqlite*"))
    assert b"boom" in raw
    assert b"abcdefsecret" not in raw


@pytest.mark.parametrize(
    ("answers", "ours", "pending"),
    [
        ([], None, True),  # sent, never answered
        ([("answer", "bound")], (5, 2), False),
        ([("answer", "failed")], None, False),
        ([("answer", None)], None, False),  # refused by a limit: did not run
        ([("settle", "bound")], (5, 2), False),  # read back: it landed
        ([("answer", "already_bound")], None, False),  # first try: someone else's
    ],
)
def test_fold_table(journal_path, answers, ours, pending):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        sid = _send(j, run, 10, 5)
        for event, status in answers:
            _answer(j, run, sid, 10, 5, status, event=event)
        led = j.ledgers(PORTAL, [10])[10]
    assert led.ours == ours
    assert (led.pending is not None) is pending


def test_fold_counts_duplicate_after_lost_answer_as_ours(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        first = _send(j, run, 10, 5, prev=7)
        _answer(j, run, first, 10, 5, None, event="settle")  # read back: not applied yet
        second = _send(j, run, 10, 5, prev=7)
        _answer(j, run, second, 10, 5, "already_bound")  # the first landed late
        led = j.ledgers(PORTAL, [10])[10]
    assert led.ours == (5, 2)
    assert led.replaced == (7, 2)


def test_fold_unbind_ends_the_claim(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        sid = _send(j, run, 10, 5, prev=7)
        _answer(j, run, sid, 10, 5, "rebound")
        run2 = j.start_run(PORTAL, "unbind")
        sid2 = _send(j, run2, 10, 7, prev=5, action="restore")
        assert j.ledgers(PORTAL, [10])[10].replaced == (7, 2)
        _answer(j, run2, sid2, 10, 7, "unbound", action="restore")
        led = j.ledgers(PORTAL, [10])[10]
    assert led.ours is None
    assert led.last_status == "unbound"


def test_ledgers_are_per_portal(journal_path):
    with Journal() as j:
        run = j.start_run(PORTAL, "bind")
        sid = _send(j, run, 10, 5)
        _answer(j, run, sid, 10, 5, "bound")
        assert j.ledgers("http://other#user1", [10]) == {}
        assert fold([]).ours is None


def test_every_journal_row_the_engine_builds_carries_the_write_keys():
    """WRITE_KEYS is the one list of what identifies a write; the engine's rows follow it."""
    from b24nb.binding.plan import note_row as _note
    from b24nb.binding.sender import Write
    from b24nb.binding.validate import Item
    from b24nb.journal import WRITE_KEYS
    from b24nb.journal.store import _COLUMNS

    item = Item(pair_id=3, order_id=10, owner_id=5, owner_type_id=2)
    assert tuple(Write(item, "bind", (5, 2), (7, 2)).journal_row()) == WRITE_KEYS
    assert set(WRITE_KEYS) <= set(_note(item, "needs_rebind", "m", (7, 2)))
    assert set(WRITE_KEYS) <= set(_COLUMNS)
