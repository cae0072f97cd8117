"""The journal: an append-only SQLite log of every write b24nb sends to a portal.

Why a file and not memory: ``bind()`` writes to a customer's CRM. A kernel restart, a closed
laptop or a ``SIGKILL`` must not leave anyone guessing which bindings were made, which were
sent without an answer, and which owner an order had before it was moved. So each write is
recorded (and committed) *before* it is sent and its answer *after*; a rerun reads the
journal to skip what is done, settle what was sent without an answer, and ``unbind()`` reads
it to restore a replaced owner.

The file lives at ``$B24NB_JOURNAL`` or ``~/.b24nb/journal.sqlite`` (or wherever a
``journal=`` argument says). It uses WAL mode with ``synchronous=FULL``, and triggers refuse
``UPDATE`` and ``DELETE``: rows are only ever appended. Rows carry a portal identity
(host + user id) that never contains a webhook secret or a token; an order's history is read
by host, whichever user wrote it.

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

from b24nb.errors import B24nbError
from b24nb.journal.keys import _site_or_none, portal_site
from b24nb.journal.ledger import OrderLedger, fold
from b24nb.journal.schema import (
    _COLUMNS,
    _INSERT,
    _INT_COLUMNS,
    _SCHEMA,
    _TEXT_COLUMNS,
    WRITE_KEYS,
    _now,
    check_events,
    row_values,
)

# WRITE_KEYS, _COLUMNS and _now live in journal.schema; they stay importable from here, where
# b24nb.journal, claims and the journal tests have always found them
__all__ = [
    "WRITE_KEYS",
    "Journal",
    "JournalError",
    "default_path",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

class JournalError(B24nbError, OSError):
    """The journal file cannot be opened or written; raised before anything is sent.

    Why its own error: ``sqlite3`` says only "unable to open database file" or "attempt to
    write a readonly database", without the path or what to do. ``bind()`` refuses to write
    to a portal without a journal, so this names the file and the way out.
    """


def default_path() -> Path:
    """Return where the journal lives when nobody says otherwise.

    ``$B24NB_JOURNAL`` wins (tests and shared machines set it); else
    ``~/.b24nb/journal.sqlite``.
    """
    env = os.environ.get("B24NB_JOURNAL")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".b24nb" / "journal.sqlite"


class Journal:
    """An append-only SQLite log of writes, one file shared by every run on this machine.

    Parameters
    ----------
    path : str | os.PathLike | None
        The SQLite file; created with its parent folder. None means :func:`default_path`.
    readonly : bool
        Open only to read (``history()``, a dry run): works on a read-only disk or share, and
        creates no file when there is none (the journal then reads as empty).

    Raises
    ------
    JournalError
        The file cannot be created, opened or (unless ``readonly``) written: checked here,
        so ``bind()`` fails before it sends anything.

    Notes
    -----
    Thread-safe for the engine's use (one lock around the connection). Safe against a kill:
    every ``record_*`` call is one committed transaction.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, readonly: bool = False
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self.readonly = readonly
        self._lock = threading.Lock()
        try:
            self._db = self._open_readonly() if readonly else self._open_writable()
        except (sqlite3.Error, OSError) as exc:
            what = "read" if readonly else "write"
            raise JournalError(
                f"cannot {what} the b24nb journal at {self.path} ({exc}); nothing was sent. "
                "bind() and unbind() record every write there before sending it: point "
                "$B24NB_JOURNAL or journal= at a writable file"
            ) from exc
        self._db.row_factory = sqlite3.Row
        # one spelling per portal, for old rows too (keys were once stored as typed)
        self._db.create_function("b24nb_site", 1, _site_or_none, deterministic=True)

    def _open_writable(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed "sent" record survives a power cut, not only a killed process
            db.execute("PRAGMA synchronous=FULL")
            db.executescript(_SCHEMA)
            check_events(db)
            # a read-only file opens and even reads fine; only taking the write lock tells
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        except BaseException:
            db.close()
            raise
        return db

    def _open_readonly(self) -> sqlite3.Connection:
        if not self.path.exists():
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.executescript(_SCHEMA)
            return db
        uri = self.path.resolve().as_uri()
        # mode=ro sees the WAL of a running writer; immutable=1 is for read-only media, where
        # SQLite cannot create the -shm file that mode=ro needs for a WAL database
        for flags in ("mode=ro", "immutable=1"):
            db = sqlite3.connect(f"{uri}?{flags}", uri=True, check_same_thread=False, timeout=30)
            try:
                check_events(db)
                return db
            except sqlite3.Error:
                db.close()
                if flags == "immutable=1":
                    raise
        raise AssertionError("unreachable")

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
        if self.readonly:
            raise JournalError(f"the journal at {self.path} was opened read-only")
        at = _now()
        ids: list[int] = []
        try:
            self._insert(rows, at, ids)
        except sqlite3.Error as exc:
            # never a raw sqlite3 error out of bind(): say which file, and what it means
            raise JournalError(
                f"cannot write the b24nb journal at {self.path} ({exc}); rows in flight read "
                "pending in the frame, and a rerun with a working journal settles them"
            ) from exc
        return ids

    def _insert(self, rows: Sequence[Mapping[str, Any]], at: str, ids: list[int]) -> None:
        with self._lock, self._db:
            for row in rows:
                cur = self._db.execute(_INSERT, row_values(row, at))
                ids.append(int(cur.lastrowid))  # type: ignore[arg-type]

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
        """Yield events (oldest first) as dicts, optionally for one portal, run or orders.

        ``portal`` keeps the events of that Bitrix24 portal, whichever of its users made them:
        the key is ``host#user<id>`` and the host decides (see :func:`portal_site`). An order
        has one owner per portal, so a binding made through one user's webhook must be found
        (resumed, undone) through another's.
        """
        where, args = [], []  # type: ignore[var-annotated]
        if portal is not None:
            where.append("b24nb_site(portal) = ?")
            args.append(portal_site(portal))
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

    def pending_orders(self, portal: str) -> set[int]:
        """Orders of ``portal`` with a send that has no answer or settlement yet.

        Why: a rerun settles the unanswered sends of its selected orders; these are the others
        (the analyst unticked the row, or reran with another frame), which ``bind()`` and
        ``unbind()`` settle too, so the journal never keeps a write nobody knows the fate of.
        """
        sql = (
            "SELECT DISTINCT s.order_id FROM events s WHERE s.event = 'send' "
            "AND b24nb_site(s.portal) = ? "
            "AND NOT EXISTS (SELECT 1 FROM events a WHERE a.send_id = s.id)"
        )
        with self._lock:
            rows = self._db.execute(sql, (portal_site(portal),)).fetchall()
        return {int(r[0]) for r in rows if r[0] is not None}

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
        for col in _INT_COLUMNS:
            df[col] = df[col].astype("Int64")
        for col in _TEXT_COLUMNS:
            df[col] = df[col].astype("string")
        df["response"] = pd.Series(
            [None if r["response"] is None else json.loads(r["response"]) for r in rows],
            index=df.index,
            dtype=object,
        )
        return df
