"""The ``events`` table: its columns, its DDL, the check that a file is a journal, and how a
row's values are stored.

Why apart from :mod:`~b24nb.journal.store`: what a journal row *is* (one list of columns the
schema, the INSERT and the typed frame are all derived from) is one concern; opening the file,
appending under a lock and reading back is another. Claims (:mod:`~b24nb.journal.claims`)
write rows of the same table, with the same clock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from b24nb.redact import redact

__all__ = ["WRITE_KEYS", "check_events", "row_values"]

#: what identifies one write: recorded with its send, and repeated on its answer, its read-back
#: settlement and on a note, so every event about an order reads on its own. The engine builds
#: these rows (``binding.sender.Write.journal_row``, ``binding.plan``) from this one list.
WRITE_KEYS: tuple[str, ...] = (
    "action",  # bind | unbind | restore (note: the outcome decided without a write)
    "method",  # the REST method of a send
    "pair_id",
    "order_id",
    "owner_id",
    "owner_type_id",
    "prev_owner_id",  # the order's owner just before this write
    "prev_owner_type_id",
)

#: every column of the ``events`` table after ``id``, with its SQL type: the one list the
#: schema, the INSERT, and :meth:`Journal.frame`'s dtypes are all derived from
_FIELDS: tuple[tuple[str, str], ...] = (
    ("at", "TEXT NOT NULL"),  # UTC, ISO 8601
    ("portal", "TEXT NOT NULL"),  # host + user id; never a secret
    ("run_id", "TEXT NOT NULL"),
    ("event", "TEXT NOT NULL"),  # run | send | answer | settle | note
    *((k, "INTEGER" if k.endswith("_id") else "TEXT") for k in WRITE_KEYS),
    ("send_id", "INTEGER"),  # answer/settle: the send it answers
    ("status", "TEXT"),  # a bind_status value
    ("error", "TEXT"),  # the portal's code, as a string
    ("message", "TEXT"),
    ("response", "TEXT"),  # JSON of the parsed result
)
_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _FIELDS)
_INT_COLUMNS = tuple(name for name, sql in _FIELDS if sql.startswith("INTEGER"))
_TEXT_COLUMNS = tuple(
    name for name, sql in _FIELDS if sql.startswith("TEXT") and name not in ("at", "response")
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (\n    id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
    + ",\n".join(f"    {name} {sql}" for name, sql in _FIELDS)
    + """
);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id, id);
CREATE INDEX IF NOT EXISTS events_send ON events (send_id);
CREATE INDEX IF NOT EXISTS events_order_id ON events (order_id, id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the b24nb journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the b24nb journal is append-only'); END;
"""
)

#: the one INSERT of a whole row, in :data:`_COLUMNS` order (claims insert only a few columns)
_INSERT = f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"


def check_events(db: sqlite3.Connection) -> None:
    """Refuse a damaged journal at open, before anything is sent.

    Why here: a file that is not a b24nb journal (another program's SQLite file with an
    ``events`` table of its own) or has a corrupt page opens fine and fails only at the first
    write — after ``bind()`` already read the portal. ``quick_check`` reads every page once
    (a 100,000-event journal is ~20 MB: a fraction of a second).
    """
    cols = {r[1] for r in db.execute("PRAGMA table_info(events)").fetchall()}
    missing = [c for c in ("id", *_COLUMNS) if c not in cols]
    if missing:
        raise sqlite3.DatabaseError(
            f"not a b24nb journal: table events lacks {', '.join(missing)}")
    status = db.execute("PRAGMA quick_check(1)").fetchone()
    if not status or status[0] != "ok":
        raise sqlite3.DatabaseError(f"the journal is damaged ({status[0] if status else '?'})")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return redact(json.dumps(value, ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return redact(repr(value))


def _int(value: Any) -> int | None:
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return int(value)


def row_values(row: Mapping[str, Any], at: str) -> list[Any]:
    """The values of one event row as stored, in :data:`_COLUMNS` order.

    Why redacted here: messages, codes and responses come from the portal and may quote a
    URL with a webhook secret; this is the last step before the disk, so nothing passes it
    unscrubbed. ``at`` is the transaction's time, used when the row brings none.
    """
    values = []
    for col in _COLUMNS:
        v = row.get(col)
        if col == "at":
            v = v or at
        elif col == "response":
            v = _json(v)
        elif col in ("message", "error") and v is not None:
            v = redact(v)
        elif col.endswith("_id") and col not in ("run_id",):
            v = _int(v)
        values.append(v)
    return values
