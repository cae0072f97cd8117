"""The stage-move log: every deal stage change the clean-up action sends, append-only.

Why its own table: moving auto-created shells to a stage is a write to the customer's CRM
like a binding, and must be as recoverable (what was sent, what answered, what each deal's
stage was before, so an undo can put it back), but its rows are about deals, not orders.
It lives in the same SQLite file as the bindings journal (``$B24NB_JOURNAL`` or
``~/.b24nb/journal.sqlite``), in a table ``stage_moves`` that triggers keep append-only.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from b24nb.journal.store import Journal, JournalError, default_path
from b24nb.redact import redact

__all__ = ["STAGE_COLUMNS", "StageLog", "stage_history"]

#: columns of ``stage_moves`` after ``id``
STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("at", "TEXT NOT NULL"),  # UTC, ISO 8601
    ("portal", "TEXT NOT NULL"),  # host + user id; never a secret
    ("run_id", "TEXT NOT NULL"),
    ("event", "TEXT NOT NULL"),  # run | send | answer
    ("action", "TEXT"),  # move | undo
    ("deal_id", "INTEGER"),
    ("from_stage", "TEXT"),
    ("to_stage", "TEXT"),
    ("undoes", "TEXT"),  # undo runs: the run id they undo
    ("status", "TEXT"),  # moved | skipped_changed | skipped_has_orders | failed | pending
    ("error", "TEXT"),
    ("message", "TEXT"),
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS stage_moves (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    {", ".join(f"{n} {t}" for n, t in STAGE_COLUMNS)}
);
CREATE INDEX IF NOT EXISTS ix_stage_moves_run ON stage_moves (run_id);
CREATE TRIGGER IF NOT EXISTS stage_moves_no_update BEFORE UPDATE ON stage_moves
BEGIN SELECT RAISE(ABORT, 'the stage log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS stage_moves_no_delete BEFORE DELETE ON stage_moves
BEGIN SELECT RAISE(ABORT, 'the stage log is append-only'); END;
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class StageLog:
    """Append-only log of stage moves in the journal file.

    Parameters
    ----------
    path : Journal, path or None
        The journal (or its file); None means the default journal path.
    """

    def __init__(self, path: Journal | str | os.PathLike[str] | None = None) -> None:
        if isinstance(path, Journal):
            path = path.path
        self.path = Path(path).expanduser() if path is not None else default_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"cannot write the stage log at {self.path} ({exc}); nothing "
                               "was sent: point $B24NB_JOURNAL or journal= at a writable "
                               "file") from exc

    def __repr__(self) -> str:
        return f"StageLog({str(self.path)!r})"

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> StageLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, portal: str, run_id: str, event: str,
               rows: Sequence[Mapping[str, Any]]) -> None:
        """Append ``rows`` (committed before returning: a crash after this keeps them)."""
        names = [n for n, _ in STAGE_COLUMNS]
        values = []
        for row in rows:
            full = {"at": _now(), "portal": portal, "run_id": run_id, "event": event, **row}
            values.append([redact(str(full[n])) if n == "message" and full.get(n) is not None
                           else full.get(n) for n in names])
        with self._lock, self._db:
            self._db.executemany(
                f"INSERT INTO stage_moves ({', '.join(names)}) VALUES "
                f"({', '.join('?' * len(names))})", values)

    def start_run(self, portal: str, action: str, undoes: str | None = None) -> str:
        """A new run id, recorded with what it does."""
        run_id = uuid.uuid4().hex[:12]
        self.append(portal, run_id, "run", [{"action": action, "undoes": undoes}])
        return run_id

    def frame(self, run_id: str | None = None, portal: str | None = None) -> pd.DataFrame:
        """The log as a frame (index ``id``), oldest first; one run's or one portal's rows."""
        where, args = [], []
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if portal is not None:
            where.append("portal = ?")
            args.append(portal)
        sql = "SELECT * FROM stage_moves" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            df = pd.read_sql_query(sql + " ORDER BY id", self._db, params=args,
                                   index_col="id")
        df["at"] = pd.to_datetime(df["at"], utc=True, format="ISO8601")
        df["deal_id"] = df["deal_id"].astype("Int64")
        for name, kind in STAGE_COLUMNS:
            if kind.startswith("TEXT") and name != "at":
                df[name] = df[name].astype("string")
        return df


def stage_history(journal: Journal | str | os.PathLike[str] | None = None, *,
                  run_id: str | None = None) -> pd.DataFrame:
    """The stage-move log as a frame: what the clean-up action sent and what answered.

    Reading creates no file: with no journal yet, the frame is empty.
    """
    path = journal.path if isinstance(journal, Journal) else (
        Path(journal).expanduser() if journal is not None else default_path())
    if not path.exists():
        empty = pd.DataFrame({n: pd.Series(dtype="string") for n, _ in STAGE_COLUMNS})
        empty["at"] = pd.Series(dtype="datetime64[ns, UTC]")
        empty["deal_id"] = pd.Series(dtype="Int64")
        empty.index.name = "id"
        return empty
    with StageLog(path) as log:
        return log.frame(run_id)
