"""The analyst's decisions per pair (accept / unsure / reject), kept in the journal file.

Why in the journal: a review takes days and kernels restart; a pair rejected on Monday must
stay rejected when ``suggest()`` runs again on Tuesday. The decisions live in their own
``decisions`` table of the same SQLite file (the write log's ``events`` table is not touched),
append-only like the events: the newest row per (order, owner) wins, and clearing a decision
appends a row with no decision. Rows are keyed by the portal's host (never a secret): a
decision is about the portal's data, whoever's webhook looks at it.

docs/contracts.md §decisions: :func:`decisions` returns the frame ``suggest(...,
decisions=)`` reads; :func:`apply_decisions` puts them back onto a new ``pairs``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError
from b24nb.journal.store import Journal, JournalError, default_path, portal_site

__all__ = ["DECISIONS", "apply_decisions", "decisions", "portal_key", "record_decisions"]

#: the decisions an analyst can take on a pair; NA means undecided
DECISIONS: tuple[str, ...] = ("accept", "unsure", "reject")

#: bind answers that count as "accept" (docs/contracts.md §decisions)
_BOUND = ("bound", "rebound", "already_bound")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    portal TEXT NOT NULL,
    order_id INTEGER NOT NULL,
    deal_id INTEGER NOT NULL,
    owner_type_id INTEGER NOT NULL,
    decision TEXT
);
CREATE INDEX IF NOT EXISTS decisions_key ON decisions (portal, order_id, deal_id, id);
CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'the b24nb decisions are append-only'); END;
"""


def _path(journal: Journal | str | os.PathLike[str] | None) -> Path:
    if isinstance(journal, Journal):
        return journal.path
    return Path(journal).expanduser() if journal is not None else default_path()


def _connect(path: Path, *, write: bool) -> sqlite3.Connection | None:
    """Open the file; None when reading and there is no file or no decisions table yet."""
    try:
        if write:
            Journal(path).close()  # the write log's own schema first: one file, both tables
            db = sqlite3.connect(path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            return db
        if not path.exists():
            return None
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        found = db.execute("SELECT name FROM sqlite_master WHERE name='decisions'").fetchone()
        if found is None:
            db.close()
            return None
        return db
    except JournalError:
        raise
    except (sqlite3.Error, OSError) as exc:
        what = "write" if write else "read"
        raise JournalError(f"cannot {what} the decisions in the b24nb journal at {path} "
                           f"({exc}): point $B24NB_JOURNAL or journal= at a writable file"
                           ) from exc


def portal_key(portal: Any) -> str:
    """The host a decision belongs to: ``"https://x.bitrix24.ru"`` (a str is taken as is)."""
    if portal is None:
        return ""
    if isinstance(portal, str):
        return portal_site(portal)
    return str(getattr(portal, "host", "") or "").lower()


def _ints(values: Any) -> list[int | None]:
    series = pd.Series(values).astype("Float64")
    return [None if pd.isna(v) else int(v) for v in series.tolist()]


def record_decisions(rows: pd.DataFrame, *, portal: Any = None,
                     journal: Journal | str | os.PathLike[str] | None = None) -> int:
    """Append decisions (columns ``order_id``, ``deal_id``, ``decision``, optionally
    ``owner_type_id`` (2) and ``decided_at`` (now)); NA in ``decision`` clears one.

    Returns the number of rows written.
    """
    if len(rows) == 0:
        return 0
    bad = sorted(set(rows["decision"].dropna().astype(str)) - set(DECISIONS))
    if bad:
        raise ValidationError(f"unknown decision(s) {bad}: use one of {list(DECISIONS)} or NA")
    now = datetime.now(UTC)
    at = (pd.to_datetime(rows["decided_at"], utc=True) if "decided_at" in rows.columns
          else pd.Series(pd.NaT, index=rows.index, dtype="datetime64[ns, UTC]"))
    at_text = [(now if pd.isna(t) else t.to_pydatetime()).isoformat(timespec="microseconds")
               for t in at.tolist()]
    types = (_ints(rows["owner_type_id"]) if "owner_type_id" in rows.columns
             else [2] * len(rows))
    orders, deals = _ints(rows["order_id"]), _ints(rows["deal_id"])
    if None in orders or None in deals:
        raise ValidationError("a decision needs both order_id and deal_id")
    decided = [None if pd.isna(d) else str(d) for d in rows["decision"].tolist()]
    key = portal_key(portal)
    db = _connect(_path(journal), write=True)
    assert db is not None
    try:
        with db:
            db.executemany(
                "INSERT INTO decisions (at, portal, order_id, deal_id, owner_type_id, decision)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                zip(at_text, [key] * len(rows), orders, deals,
                    [2 if t is None else t for t in types], decided, strict=True))
    finally:
        db.close()
    return len(rows)


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": pd.array([], dtype="Int64"), "deal_id": pd.array([], dtype="Int64"),
        "owner_type_id": pd.array([], dtype="Int64"),
        "decision": pd.array([], dtype="string"),
        "decided_at": pd.Series([], dtype="datetime64[ns, UTC]"),
    })


def _bound_rows(journal: Any, portal: Any) -> pd.DataFrame:
    """Bind answers from the write log as "accept" rows, unbinds as clearing rows."""
    from b24nb.journal.history import history

    ident = portal
    if portal is not None and not isinstance(portal, str):
        ident = portal_key(portal)
    events = history(journal)
    if len(events) == 0:
        return _empty().assign(portal=pd.Series([], dtype="string"))
    events = events[(events["event"].isin(["answer", "settle"]))
                    & events["status"].isin([*_BOUND, "unbound"])
                    & events["owner_id"].notna() & events["order_id"].notna()]
    if ident:
        site = events["portal"].astype(str).map(portal_site)
        events = events[site == portal_site(ident)]
    return pd.DataFrame({
        "order_id": events["order_id"].astype("Int64").to_numpy(),
        "deal_id": events["owner_id"].astype("Int64").to_numpy(),
        "owner_type_id": events["owner_type_id"].astype("Int64").fillna(2).to_numpy(),
        "decision": pd.array(np.where(events["status"].isin(_BOUND), "accept", None),
                             dtype="string"),
        "decided_at": pd.to_datetime(events["at"], utc=True).to_numpy(),
    })


def decisions(journal: Journal | str | os.PathLike[str] | None = None, *,
              portal: Any = None, include_bound: bool = True) -> pd.DataFrame:
    """Return the analyst's standing decisions, one row per (order, owner).

    Parameters
    ----------
    journal
        The journal file (default ``$B24NB_JOURNAL`` or ``~/.b24nb/journal.sqlite``).
    portal
        Only this portal's decisions (a :class:`b24nb.Portal` or its host); None: all.
    include_bound
        Also count what ``bind()`` bound (``bound``/``rebound``/``already_bound``) as
        accepted, and an unbind as clearing that (docs/contracts.md §decisions).

    Returns
    -------
    pandas.DataFrame
        Columns ``order_id``, ``deal_id``, ``owner_type_id`` (Int64), ``decision`` (string:
        accept/unsure/reject), ``decided_at`` (UTC): the newest row per key, cleared ones
        left out. Pass it to ``suggest(..., decisions=)`` and :func:`apply_decisions`.
    """
    frames = []
    db = _connect(_path(journal), write=False)
    if db is not None:
        try:
            query = ("SELECT id, at, portal, order_id, deal_id, owner_type_id, decision "
                     "FROM decisions")
            args: tuple[Any, ...] = ()
            if portal is not None:
                query += " WHERE portal = ?"
                args = (portal_key(portal),)
            raw = pd.read_sql_query(query + " ORDER BY id", db, params=args)
        finally:
            db.close()
        frames.append(pd.DataFrame({
            "order_id": raw["order_id"].astype("Int64"), "deal_id": raw["deal_id"].astype("Int64"),
            "owner_type_id": raw["owner_type_id"].astype("Int64"),
            "decision": raw["decision"].astype("string"),
            "decided_at": pd.to_datetime(raw["at"], utc=True, format="ISO8601"),
        }))
    if include_bound:
        frames.append(_bound_rows(journal, portal))
    frames = [f for f in frames if len(f)]
    if not frames:
        return _empty()
    every = pd.concat(frames, ignore_index=True)
    every["decided_at"] = every["decided_at"].astype("datetime64[ns, UTC]")
    newest = (every.sort_values("decided_at", kind="stable")
              .drop_duplicates(["order_id", "deal_id", "owner_type_id"], keep="last"))
    out = newest[newest["decision"].notna()].reset_index(drop=True)
    return out.astype({"order_id": "Int64", "deal_id": "Int64", "owner_type_id": "Int64",
                       "decision": "string"})


def apply_decisions(pairs: pd.DataFrame, frame: pd.DataFrame) -> int:
    """Write ``decision``/``decided_at`` onto ``pairs`` (in place) from a decisions frame.

    Rejected pairs are unticked: a reject means "never bind this". Returns how many pairs got
    a decision.
    """
    ensure_columns(pairs)
    if len(frame) == 0 or len(pairs) == 0:
        return 0
    types = (pairs["owner_type_id"] if "owner_type_id" in pairs.columns
             else pd.Series(2, index=pairs.index)).astype("Int64").fillna(2)
    left = pd.MultiIndex.from_arrays([pairs["order_id"].astype("Int64"),
                                      pairs["deal_id"].astype("Int64"), types])
    right = pd.MultiIndex.from_arrays([frame["order_id"].astype("Int64"),
                                       frame["deal_id"].astype("Int64"),
                                       frame["owner_type_id"].astype("Int64").fillna(2)])
    where = right.get_indexer(left)
    hit = where >= 0
    if not hit.any():
        return 0
    rows = np.flatnonzero(hit)
    pairs.iloc[rows, pairs.columns.get_loc("decision")] = (
        frame["decision"].astype("string").to_numpy()[where[hit]])
    pairs.iloc[rows, pairs.columns.get_loc("decided_at")] = (
        frame["decided_at"].to_numpy()[where[hit]])
    if "selected" in pairs.columns:
        rejected = pairs["decision"].eq("reject").to_numpy(dtype=bool, na_value=False)
        pairs.iloc[np.flatnonzero(rejected), pairs.columns.get_loc("selected")] = False
    return int(hit.sum())


def ensure_columns(pairs: pd.DataFrame) -> None:
    """Add empty ``decision`` (string) and ``decided_at`` (UTC) columns when missing."""
    if "decision" not in pairs.columns:
        pairs["decision"] = pd.array([pd.NA] * len(pairs), dtype="string")
    if "decided_at" not in pairs.columns:
        pairs["decided_at"] = pd.Series(pd.NaT, index=pairs.index,
                                        dtype="datetime64[ns, UTC]")


def set_decision(pairs: pd.DataFrame, positions: Iterable[int], decision: str | None, *,
                 portal: Any = None, journal: Any = None, record: bool = True) -> pd.DataFrame:
    """Set one decision on the rows at ``positions`` (frame and, if ``record``, journal).

    Returns the rows written to the journal (empty when nothing changed).
    """
    if decision is not None and decision not in DECISIONS:
        raise ValidationError(f"unknown decision {decision!r}: use one of {list(DECISIONS)}")
    ensure_columns(pairs)
    positions = np.asarray(list(positions), dtype=np.intp)
    now = pd.Timestamp.now(tz="UTC")
    pairs.iloc[positions, pairs.columns.get_loc("decision")] = (
        pd.NA if decision is None else decision)
    pairs.iloc[positions, pairs.columns.get_loc("decided_at")] = (
        pd.NaT if decision is None else now)
    if decision == "reject" and "selected" in pairs.columns:
        pairs.iloc[positions, pairs.columns.get_loc("selected")] = False
    rows = pd.DataFrame({
        "order_id": pairs["order_id"].iloc[positions].to_numpy(),
        "deal_id": pairs["deal_id"].iloc[positions].to_numpy(),
        "owner_type_id": (pairs["owner_type_id"].iloc[positions].to_numpy()
                          if "owner_type_id" in pairs.columns else 2),
        "decision": pd.array([decision] * len(positions), dtype="string"),
        "decided_at": [now] * len(positions),
    })
    if record and len(rows):
        record_decisions(rows, portal=portal, journal=journal)
    return rows


def review_progress(pairs: pd.DataFrame) -> Mapping[str, int]:
    """How far the review is: orders with a decision or a binding, of all orders."""
    orders = pairs["order_id"]
    decided = np.zeros(len(pairs), dtype=bool)
    if "decision" in pairs.columns:
        decided |= pairs["decision"].notna().to_numpy(dtype=bool)
    if "bind_status" in pairs.columns:
        decided |= pairs["bind_status"].isin(list(_BOUND)).to_numpy(dtype=bool, na_value=False)
    return {"reviewed": int(orders[decided].nunique()), "orders": int(orders.nunique())}
