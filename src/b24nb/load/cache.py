"""Warm reloads: keep a loader's last frame on disk, next time read only what changed.

Why: a 200,000-deal, 200,000-order portal takes hundreds of requests to load — minutes at the
portal's 2 requests a second — and between two sessions of an analyst only a few hundred
records change. The loaders (``cache=True``) keep their last frame as parquet beside a small
JSON note and, on the next call with the same arguments, read:

1. the rows modified since the saved high-water mark (``>=DATE_MODIFY`` for deals,
   ``>=dateUpdate`` for orders), with everything the cold load adds to a row (contacts,
   customers), merged over the saved rows by id;
2. one count of the rows the filter matches now: when it equals the merged frame's length
   nothing was deleted; otherwise an ID-only list (``select ID``, 2,500 ids a request) says
   which saved rows are gone, deleted or no longer matching.

The mark is the portal's own clock (``server.time``) read *before* the previous load, less a
safety margin, so an edit made while that load was running is read again, never missed; a
row read twice is merely replaced by itself. Deals also re-join the contacts modified since
the mark (a contact's edit does not touch its deals' ``DATE_MODIFY``); orders count on the
portal stamping ``dateUpdate`` when the order's clients or properties are saved with it.

Bindings have no modified time: they are re-read whole every time, by ``load_bindings``'s
keyset walk of ``crm.orderentity.list`` (⌈N/2500⌉ requests of three integers a row — cheap),
and the saved frame only tells how many changed. That keeps them exact by construction.

Files live in ``$B24NB_CACHE`` (default ``~/.b24nb/cache``), one folder per portal host
(scheme, host and port — never a path, a webhook secret or a token), and are replaced
atomically. ``cache="refresh"`` forces a full load (and saves it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["CacheNote", "Listing", "cache_dir", "cache_files", "cache_line", "load_note",
           "warm_load"]

log = logging.getLogger(__name__)

_VERSION = 1
#: seconds subtracted from the portal's clock for the mark: DATE_MODIFY has whole seconds,
#: and a load's first rows are read a moment after the clock is asked
_MARGIN = timedelta(seconds=5)


@dataclass(frozen=True)
class CacheNote:
    """What a loader did with its cache: kept in ``frame.attrs["b24nb_cache"]`` as a dict."""

    kind: str
    cached: bool  # True: saved rows reused, only changes read
    rows: int
    changed: int = 0  # rows read again (edited or new since the mark)
    deleted: int = 0  # saved rows gone from the portal (or no longer matching the filter)
    requests: int = 0  # HTTP requests the portal sent meanwhile (other loads' included)

    def line(self) -> str:
        """The one line the notebook shows: ``deals: cached, 12 changed, 1 deleted``."""
        if not self.cached:
            return f"{self.kind}: full load, {self.rows:,} rows"
        return (f"{self.kind}: cached, {self.changed:,} changed, {self.deleted:,} deleted "
                f"({self.rows:,} rows)")


def cache_line(frame: pd.DataFrame) -> str:
    """What a cached load did, in one line (``deals: cached, 12 changed, 1 deleted (…)``)."""
    note = frame.attrs.get("b24nb_cache")
    if not note:
        return f"{len(frame):,} rows (no cache)"
    return CacheNote(**note).line()


def cache_dir() -> Path:
    """``$B24NB_CACHE``, else ``~/.b24nb/cache``."""
    env = os.environ.get("B24NB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".b24nb" / "cache"


def _host_folder(portal: Any) -> Path:
    host = str(getattr(portal, "host", "") or "portal").lower()
    safe = re.sub(r"[^a-z0-9.-]+", "_", host.split("://", 1)[-1].split("/", 1)[0])
    return cache_dir() / safe


def cache_files(portal: Any, kind: str) -> tuple[Path, Path]:
    """``(frame.parquet, note.json)`` of one loader on one portal."""
    folder = _host_folder(portal)
    return folder / f"{kind}.parquet", folder / f"{kind}.json"


def _key(args: Mapping[str, Any]) -> str:
    """A digest of the loader's arguments: a saved frame serves only the same call."""
    text = json.dumps(args, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def load_note(portal: Any, kind: str) -> dict[str, Any] | None:
    """The saved JSON note of ``kind`` on this portal, or None."""
    _, meta = cache_files(portal, kind)
    try:
        return json.loads(meta.read_text())
    except (OSError, ValueError):
        return None


def _server_time(portal: Any) -> str | None:
    """The portal's clock (``server.time``) less the margin, ISO 8601; None if unavailable."""
    from b24nb.errors import PortalError

    try:
        raw = portal.call("server.time")
        when = datetime.fromisoformat(str(raw))
    except (PortalError, ValueError, TypeError):
        return None
    return (when - _MARGIN).isoformat(timespec="seconds")


_STALE_LOOPBACK = 86_400.0  # a local portal's folder unused for a day: its port is gone


def _prune_loopback(keep: Path) -> None:
    """Drop the folders of local portals (sandboxes) not written for a day.

    A sandbox listens on a new port each time it starts, so its folder is never read again
    once it stops; without this the cache would grow by one folder per notebook session.
    """
    import shutil
    import time

    now = time.time()
    for folder in keep.parent.glob("127.0.0.1_*"):
        with contextlib.suppress(OSError):
            if folder != keep and now - folder.stat().st_mtime > _STALE_LOOPBACK:
                shutil.rmtree(folder)


def _save(portal: Any, kind: str, frame: pd.DataFrame, note: dict[str, Any]) -> None:
    data, meta = cache_files(portal, kind)
    if not data.parent.exists():
        _prune_loopback(data.parent)
    data.parent.mkdir(parents=True, exist_ok=True)
    tmp = data.with_suffix(".parquet.tmp")
    plain = frame.copy()
    plain.attrs = {}
    plain.to_parquet(tmp)
    os.replace(tmp, data)
    tmp = meta.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(note, ensure_ascii=False))
    os.replace(tmp, meta)


def _read(portal: Any, kind: str, key: str) -> tuple[pd.DataFrame, str] | None:
    note = load_note(portal, kind)
    if not note or note.get("version") != _VERSION or note.get("key") != key:
        return None
    data, _ = cache_files(portal, kind)
    try:
        return pd.read_parquet(data), str(note.get("mark") or "")
    except (OSError, ValueError) as err:
        log.warning("%s cache unreadable (%s); loading in full", kind, type(err).__name__)
        return None


def _requests(portal: Any) -> int:
    stats = getattr(portal, "stats", None)
    return int(getattr(stats, "http_requests", 0) or 0)


@dataclass(frozen=True)
class Listing:
    """How to read one kind of record again: its list method, id field, modified-time field."""

    method: str
    idf: str
    stamp: str  # the modified-time field (DATE_MODIFY, dateUpdate)

    def dated(self, flt: Mapping[str, Any]) -> bool:
        """False when the user's filter already bounds the modified time (no delta then)."""
        return not any(self.stamp.lower() in str(k).lower() for k in flt)

    def count(self, portal: Any, flt: Mapping[str, Any]) -> int:
        return int(portal.call_full(self.method, {"filter": dict(flt), "select": [self.idf],
                                                  "start": 0}).total or 0)

    def ids(self, portal: Any, flt: Mapping[str, Any]) -> pd.Index:
        return pd.Index([int(r[self.idf]) for r in portal.list(
            self.method, {"filter": dict(flt), "select": [self.idf]}, progress=False)])


def warm_load(
    portal: Any,
    kind: str,
    args: Mapping[str, Any],
    cache: bool | str,
    *,
    load: Callable[[Mapping[str, Any]], pd.DataFrame],
    flt: Mapping[str, Any] | None = None,
    listing: Listing | None = None,
    refresh: Callable[[pd.DataFrame, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Run a loader through its cache (see the module docstring).

    ``load(filter)`` is the loader itself. With a ``listing`` the rows modified at or after
    the saved mark are loaded (``filter`` plus ``>=stamp``) and merged; ``refresh(frame,
    mark)`` re-derives columns fed by other records (contacts). Without one (bindings) the
    kind is always loaded whole.
    """
    if cache not in (False, True, "refresh"):
        from b24nb.errors import ValidationError

        raise ValidationError(f"cache must be True, False or 'refresh', not {cache!r}")
    flt = dict(flt or {})
    if not cache:
        return load(flt)
    start = _requests(portal)
    key = _key(args)
    saved = None if cache == "refresh" else _read(portal, kind, key)
    dated = listing is not None and listing.dated(flt)
    mark = _server_time(portal) if dated else None
    if saved is not None and listing is not None and dated and saved[1] and mark is not None:
        lst = listing
        old, since = saved
        frame, note = _merge(old, since, lambda m: load({**flt, f">={lst.stamp}": m}),
                             lambda: lst.count(portal, flt), lambda: lst.ids(portal, flt),
                             refresh, kind)
    else:
        frame = load(flt)
        changed = 0
        if saved is not None:  # no modified time (bindings): tell what differs
            changed = _differences(saved[0], frame)
        note = CacheNote(kind, saved is not None, len(frame), changed=changed,
                         deleted=0 if saved is None else len(saved[0].index.difference(
                             frame.index)))
    note = CacheNote(**{**asdict(note), "requests": _requests(portal) - start})
    _save(portal, kind, frame, {"version": _VERSION, "key": key, "mark": mark,
                                "rows": len(frame)})
    frame.attrs["b24nb_cache"] = asdict(note)
    log.info(note.line())
    return frame


def _merge(old: pd.DataFrame, since: str, delta: Callable[[str], pd.DataFrame],
           count: Callable[[], int], ids: Callable[[], pd.Index],
           refresh: Callable[[pd.DataFrame, str], pd.DataFrame] | None, kind: str
           ) -> tuple[pd.DataFrame, CacheNote]:
    n_now = count()  # counted before the delta: see the module docstring
    fresh = delta(since)
    fresh = fresh[list(old.columns)] if set(old.columns) <= set(fresh.columns) else fresh
    kept = old[~old.index.isin(fresh.index)]
    if refresh is not None:
        kept = refresh(kept, since)
    parts = [p for p in (kept, fresh) if len(p)]
    frame = pd.concat(parts) if len(parts) > 1 else (parts[0] if parts else old.iloc[:0])
    deleted = 0
    if n_now != len(frame):
        alive = ids()
        gone = ~frame.index.isin(alive)
        deleted = int(gone.sum())
        frame = frame[~gone]
    frame = frame.sort_index()
    with contextlib.suppress(Exception):
        frame.index.name = old.index.name
    return frame, CacheNote(kind, True, len(frame), changed=len(fresh), deleted=deleted)


def _differences(old: pd.DataFrame, new: pd.DataFrame) -> int:
    """Rows of ``new`` that are not in ``old`` or differ from it (compared by row hashes)."""
    if list(old.columns) != list(new.columns):
        return len(new)
    before = set(pd.util.hash_pandas_object(old, index=True).to_numpy().tolist())
    after = pd.util.hash_pandas_object(new, index=True).to_numpy().tolist()
    return sum(h not in before for h in after)
