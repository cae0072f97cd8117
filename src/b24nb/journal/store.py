"""The journal: an append-only SQLite log of every write b24nb sends to a portal.

Why a file and not memory: ``bind()`` writes to a customer's CRM. A kernel restart, a closed
laptop or a ``SIGKILL`` must not leave anyone guessing which bindings were made, which were
sent without an answer, and which owner an order had before it was moved. So each write is
recorded (and committed) *before* it is sent and its answer *after*; a rerun reads the
journal to skip what is done, settle what was sent without an answer, and ``unbind()`` reads
it to restore a replaced owner.

The file lives at ``$B24NB_JOURNAL`` or ``~/.b24nb/journal.sqlite`` (or wherever a
``journal=`` argument says). It uses WAL mode with ``synchronous=FULL``, and triggers refuse
``UPDATE`` and ``DELETE``: rows are only ever appended. Rows are keyed by a portal identity
(host + user id) that never contains a webhook secret or a token.

Example
-------
>>> import b24nb
>>> b24nb.history().columns[:4].tolist()  # doctest: +SKIP
['at', 'portal', 'run_id', 'event']
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from b24nb.journal.ledger import OrderLedger, fold
from b24nb.redact import redact

__all__ = ["Journal", "default_path", "history", "open_journal"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    at                 TEXT    NOT NULL,   -- UTC, ISO 8601
    portal             TEXT    NOT NULL,   -- host + user id; never a secret
    run_id             TEXT    NOT NULL,
    event              TEXT    NOT NULL,   -- run | send | answer | settle | note
    action             TEXT,               -- bind | unbind | restore
    method             TEXT,               -- the REST method of a send
    pair_id            INTEGER,
    order_id           INTEGER,
    owner_id           INTEGER,
    owner_type_id      INTEGER,
    prev_owner_id      INTEGER,            -- the order's owner just before this write
    prev_owner_type_id INTEGER,
    send_id            INTEGER,            -- answer/settle: the send it answers
    status             TEXT,               -- a bind_status value
    error              TEXT,               -- the portal's code, as a string
    message            TEXT,
    response           TEXT                -- JSON of the parsed result
);
CREATE INDEX IF NOT EXISTS events_order ON events (portal, order_id, id);
CREATE INDEX IF NOT EXISTS events_run ON events (run_id, id);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the b24nb journal is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the b24nb journal is append-only'); END;
"""

_COLUMNS = (
    "at",
    "portal",
    "run_id",
    "event",
    "action",
    "method",
    "pair_id",
    "order_id",
    "owner_id",
    "owner_type_id",
    "prev_owner_id",
    "prev_owner_type_id",
    "send_id",
    "status",
    "error",
    "message",
    "response",
)


def default_path() -> Path:
    """Return where the journal lives when nobody says otherwise.

    ``$B24NB_JOURNAL`` wins (tests and shared machines set it); else
    ``~/.b24nb/journal.sqlite``.
    """
    env = os.environ.get("B24NB_JOURNAL")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".b24nb" / "journal.sqlite"


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


class Journal:
    """An append-only SQLite log of writes, one file shared by every run on this machine.

    Parameters
    ----------
    path : str | os.PathLike | None
        The SQLite file; created with its parent folder. None means :func:`default_path`.

    Notes
    -----
    Thread-safe for the engine's use (one lock around the connection). Safe against a kill:
    every ``record_*`` call is one committed transaction.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed "sent" record survives a power cut, not only a killed process
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the file stays)."""
        with self._lock:
            self._db.close()

    # -- writing ---------------------------------------------------------------------------
    def _append(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        sql = (
            f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        )
        at = _now()
        ids: list[int] = []
        with self._lock, self._db:
            for row in rows:
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
                cur = self._db.execute(sql, values)
                ids.append(int(cur.lastrowid))  # type: ignore[arg-type]
        return ids

    def start_run(self, portal: str, kind: str, params: Mapping[str, Any] | None = None) -> str:
        """Record the start of a run and return its id (a short unique string)."""
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._append(
            [
                {
                    "portal": portal,
                    "run_id": run_id,
                    "event": "run",
                    "action": kind,
                    "response": dict(params or {}),
                }
            ]
        )
        return run_id

    def record_sends(
        self, portal: str, run_id: str, writes: Sequence[Mapping[str, Any]]
    ) -> list[int]:
        """Record writes about to be sent, in one committed transaction; return their ids.

        Each write carries ``action``, ``method``, ``pair_id``, ``order_id``, ``owner_id``,
        ``owner_type_id`` and ``prev_owner_id``/``prev_owner_type_id``.
        """
        return self._append(
            [{**w, "portal": portal, "run_id": run_id, "event": "send"} for w in writes]
        )

    def record_answers(
        self,
        portal: str,
        run_id: str,
        answers: Sequence[Mapping[str, Any]],
        *,
        event: str = "answer",
    ) -> list[int]:
        """Record the answers (or read-back settlements) of sent writes.

        Each answer carries ``send_id``, ``status``, ``error``, ``message``, ``response`` and
        the identity columns of its write.
        """
        return self._append(
            [{**a, "portal": portal, "run_id": run_id, "event": event} for a in answers]
        )

    def note(self, portal: str, run_id: str, notes: Sequence[Mapping[str, Any]]) -> None:
        """Record outcomes decided without a write (needs_rebind, already_bound, skipped)."""
        self._append([{**n, "portal": portal, "run_id": run_id, "event": "note"} for n in notes])

    # -- reading ---------------------------------------------------------------------------
    def events(
        self,
        portal: str | None = None,
        *,
        run_id: str | None = None,
        order_ids: Iterable[int] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield events (oldest first) as dicts, optionally for one portal, run or orders."""
        where, args = [], []  # type: ignore[var-annotated]
        if portal is not None:
            where.append("portal = ?")
            args.append(portal)
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        ids = None if order_ids is None else sorted({int(o) for o in order_ids})
        chunks = [None] if ids is None else [ids[i : i + 500] for i in range(0, len(ids), 500)]
        for chunk in chunks:
            w, a = list(where), list(args)
            if chunk is not None:
                w.append(f"order_id IN ({', '.join('?' * len(chunk))})")
                a.extend(chunk)
            sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(w) if w else "")
            with self._lock:
                rows = self._db.execute(sql + " ORDER BY id", a).fetchall()
            yield from (dict(r) for r in rows)

    def ledgers(self, portal: str, order_ids: Iterable[int]) -> dict[int, OrderLedger]:
        """Return the :class:`OrderLedger` of each order (orders never written get none)."""
        by_order: dict[int, list[dict[str, Any]]] = {}
        for ev in self.events(portal, order_ids=order_ids):
            by_order.setdefault(int(ev["order_id"]), []).append(ev)
        return {oid: fold(evs) for oid, evs in by_order.items()}

    def frame(self, portal: str | None = None, *, run_id: str | None = None) -> pd.DataFrame:
        """Return the events as a typed DataFrame (see :func:`history`)."""
        rows = list(self.events(portal, run_id=run_id))
        df = pd.DataFrame(rows, columns=["id", *_COLUMNS])
        df = df.set_index("id")
        df["at"] = pd.to_datetime(df["at"], utc=True, format="ISO8601").astype(
            "datetime64[ns, UTC]"
        )
        for col in (
            "pair_id",
            "order_id",
            "owner_id",
            "owner_type_id",
            "prev_owner_id",
            "prev_owner_type_id",
            "send_id",
        ):
            df[col] = df[col].astype("Int64")
        for col in ("portal", "run_id", "event", "action", "method", "status", "error", "message"):
            df[col] = df[col].astype("string")
        df["response"] = pd.Series(
            [None if r["response"] is None else json.loads(r["response"]) for r in rows],
            index=df.index,
            dtype=object,
        )
        return df


def open_journal(journal: Journal | str | os.PathLike[str] | None) -> tuple[Journal, bool]:
    """Return ``(journal, opened_here)`` for a ``journal=`` argument."""
    if isinstance(journal, Journal):
        return journal, False
    return Journal(journal), True


def history(
    journal: Journal | str | os.PathLike[str] | None = None,
    *,
    portal: str | None = None,
    run_id: str | None = None,
) -> pd.DataFrame:
    """Return the journal as a DataFrame, one row per event, oldest first.

    Why: the journal is the audit trail of what b24nb did to a CRM; an analyst reads it like
    any other frame (filter by ``run_id``, ``order_id``, ``status``).

    Parameters
    ----------
    journal : Journal | path | None
        Which journal; None means ``$B24NB_JOURNAL`` or ``~/.b24nb/journal.sqlite``.
    portal, run_id : str | None
        Keep only one portal's or one run's events.

    Returns
    -------
    pandas.DataFrame
        Index ``id``; columns ``at`` (UTC), ``portal``, ``run_id``, ``event`` (run, send,
        answer, settle, note), ``action`` (bind, unbind, restore), ``method``, ``pair_id``,
        ``order_id``, ``owner_id``, ``owner_type_id``, ``prev_owner_id``,
        ``prev_owner_type_id``, ``send_id``, ``status``, ``error``, ``message``, ``response``.

    Examples
    --------
    >>> import b24nb
    >>> h = b24nb.history()  # doctest: +SKIP
    >>> h[h.event == "answer"].status.value_counts()  # doctest: +SKIP
    """
    j, opened = open_journal(journal)
    try:
        return j.frame(portal, run_id=run_id)
    finally:
        if opened:
            j.close()
