"""Read the current owner of many orders exactly, in few requests: a keyset walk on ``orderId``.

Why a keyset and not offsets: ``orderId`` is unique in the binding table (research §1), so
``filter {">orderId": last}`` + ``order {orderId: ASC}`` is a perfect cursor. Offset pages shift
when someone else deletes a binding between two requests, and the row that slides across a
page boundary is never seen: an order bound elsewhere would look unbound, and be moved. With a
keyset, a binding that exists throughout the read is seen exactly once, whatever else changes.

Why ranges and not ``@orderId``: ``crm.orderentity.list`` casts every filter value with
``(int)``, so an IN-list ``@orderId: [..]`` turns into ``orderId = 1`` (research §1; the
sandbox reproduces it). Scalar ``>orderId``/``<=orderId`` survive the cast. So the selected
ids are cut into a few id ranges; the first page of every range goes in one ``batch`` (50
ranges per request, ``start=-1``: no count, cheap at any table size), and a range whose page
came back full goes on from its last ``orderId``, its pages chained inside the next batch
(``$result[k][orderEntity][49][orderId]``, as the ID walk of :mod:`b24nb.listing` does).
10,000 mostly unbound orders cost one request; 10,000 bound ones cost about five.

For the few orders of one send batch, :func:`recheck_owners` asks for each order by its own
``orderId`` (one command per order, one request for 50 orders) — the guard re-read just
before a batch is sent.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from b24nb.errors import ExpiredTokenError, PortalError, retry_cause

__all__ = ["read_owners", "recheck_owners", "split_ranges"]

logger = logging.getLogger(__name__)

METHOD = "crm.orderentity.list"
PAGE = 50
BATCH = 50
#: a gap this wide between selected ids starts a new range, so bindings of unselected
#: orders in between are not read for nothing
GAP = 500
#: failures in a row of one read command, per cause (limit refusal, server error, network),
#: before the read gives up: a 503 storm must not use up the budget of 500s, or the reverse
ROUNDS = 6
_SELECT = ["orderId", "ownerId", "ownerTypeId"]

Owner = tuple[int, int]


def split_ranges(order_ids: Iterable[int], gap: int = GAP) -> list[tuple[int, int]]:
    """Cut sorted ids into inclusive ``(lo, hi)`` ranges at gaps wider than ``gap``."""
    ids = sorted(set(order_ids))
    if not ids:
        return []
    ranges = []
    lo = prev = ids[0]
    for i in ids[1:]:
        if i - prev > gap:
            ranges.append((lo, prev))
            lo = i
        prev = i
    ranges.append((lo, prev))
    return ranges


def _rows(result: Any) -> list[Mapping[str, Any]]:
    """The binding rows of one list answer (``{"orderEntity": [...]}`` or a bare list)."""
    if isinstance(result, Mapping):
        result = result.get("orderEntity", result.get("ORDER_ENTITY", []))
    if isinstance(result, Mapping):  # PHP may send a list with keys "0", "1", ...
        result = list(result.values())
    return list(result or [])


class _Budget:
    """Failures in a row per (job, cause): progress on a job resets its counts."""

    def __init__(self) -> None:
        self._n: dict[tuple[Any, str], int] = {}

    def fail(self, job: Any, err: Any) -> None:
        """Count a failure; raise it when final or when its cause's budget is spent."""
        key = (job, retry_cause(err))
        self._n[key] = self._n.get(key, 0) + 1
        if self._n[key] >= ROUNDS or not getattr(err, "transient", False):
            raise (
                err
                if isinstance(err, PortalError)
                else PortalError("READ_FAILED", f"{METHOD} failed", method=METHOD)
            )

    def progress(self, job: Any) -> None:
        for key in [k for k in self._n if k[0] == job]:
            del self._n[key]


def _read_batch(portal: Any, commands: dict[str, tuple[str, dict[str, Any]]]) -> Any:
    """``portal.batch`` for reads: a token that expires again right after its refresh (the
    client refreshes once per request) is worth one more request — a read is safe to repeat.
    """
    try:
        return portal.batch(commands)
    except ExpiredTokenError:
        return portal.batch(commands)


def _not_exact(what: str) -> PortalError:
    return PortalError(
        "LIST_NOT_EXACT",
        f"{METHOD} answered out of keyset order ({what}); the owners cannot be read exactly",
        method=METHOD,
    )


def _check_page(rows: list[Mapping[str, Any]], after: int, hi: int) -> None:
    """Refuse a page the keyset cannot trust: ids not ascending, or outside (after, hi]."""
    prev = after
    for row in rows:
        oid = int(row["orderId"])
        if oid <= prev or oid > hi:
            raise _not_exact(f"orderId {oid} after {prev}, range ends at {hi}")
        prev = oid


def read_owners(
    portal: Any,
    order_ids: Iterable[int],
    *,
    on_request: Callable[[], None] | None = None,
) -> dict[int, Owner]:
    """Return ``{order_id: (owner_id, owner_type_id)}`` for the bound ones among ``order_ids``.

    Orders absent from the answer are unbound. Raises the :class:`PortalError` of a read
    that kept failing (or ``LIST_NOT_EXACT`` for an answer the keyset cannot trust), so an
    incomplete read can never pass for "unbound".
    """
    wanted = {int(o) for o in order_ids}
    owners: dict[int, Owner] = {}
    # one job per range: (lo, hi) -> cursor (the last orderId read; lo - 1 before the first)
    cursors: dict[tuple[int, int], int] = {r: r[0] - 1 for r in split_ranges(wanted)}
    budget = _Budget()
    first = True
    while cursors:
        jobs = list(cursors)[:BATCH]
        # the first round asks one page per range (most ranges hold fewer than 50 bindings);
        # later rounds chain as many pages per open range as fit in one request
        per = 1 if first else max(1, BATCH // len(jobs))
        commands: dict[str, tuple[str, dict[str, Any]]] = {}
        plan: list[tuple[tuple[int, int], list[str]]] = []
        for n, job in enumerate(jobs):
            hi = job[1]
            left = math.ceil((hi - cursors[job]) / PAGE)
            keys = []
            for p in range(max(1, min(per, left))):
                key = f"r{n}p{p}"
                after: Any = (
                    cursors[job] if p == 0
                    else f"$result[{keys[-1]}][orderEntity][{PAGE - 1}][orderId]"
                )
                commands[key] = (
                    METHOD,
                    {
                        "filter": {">orderId": after, "<=orderId": hi},
                        "select": _SELECT,
                        "order": {"orderId": "ASC"},
                        "start": -1,
                    },
                )
                keys.append(key)
            plan.append((job, keys))
        answers = _read_batch(portal, commands)
        if on_request is not None:
            on_request()
        first = False
        for job, keys in plan:
            _lo, hi = job
            for key in keys:
                res = answers[key]
                if not res.ok:
                    budget.fail(job, res.error)  # raises when final; else retried from cursor
                    break
                rows = _rows(res.result)
                _check_page(rows, cursors[job], hi)
                budget.progress(job)
                for row in rows:
                    oid = int(row["orderId"])
                    if oid in wanted:
                        owners[oid] = (int(row["ownerId"]), int(row["ownerTypeId"]))
                if rows:
                    cursors[job] = int(rows[-1]["orderId"])
                if len(rows) < PAGE or cursors[job] >= hi:
                    del cursors[job]  # a short page, or the top of the range: done
                    break  # pages chained after a short one read a partial $result: ignored
    logger.debug("read owners of %d orders: %d bound", len(wanted), len(owners))
    return owners


def recheck_owners(portal: Any, order_ids: Iterable[int]) -> dict[int, Owner]:
    """Re-read the owners of a send batch's orders, one exact ``orderId`` command each.

    Why not :func:`read_owners`: the orders of one batch may lie far apart (many ranges, each
    holding other orders' bindings); asking for each order by its own id is one command per
    order, so one request for a batch of 50, whatever the portal holds in between.
    """
    ids = sorted({int(o) for o in order_ids})
    owners: dict[int, Owner] = {}
    budget = _Budget()
    todo = list(ids)
    while todo:
        chunk, todo = todo[:BATCH], todo[BATCH:]
        commands = {
            f"o{oid}": (
                METHOD,
                {"filter": {"orderId": oid}, "select": _SELECT, "order": {"orderId": "ASC"},
                 "start": -1},
            )
            for oid in chunk
        }
        answers = _read_batch(portal, commands)
        for oid in chunk:
            res = answers[f"o{oid}"]
            if not res.ok:
                budget.fail(oid, res.error)
                todo.append(oid)
                continue
            rows = _rows(res.result)
            if any(int(r["orderId"]) != oid for r in rows) or len(rows) > 1:
                raise _not_exact(f"a read of order {oid} returned other rows")
            if rows:
                owners[oid] = (int(rows[0]["ownerId"]), int(rows[0]["ownerTypeId"]))
    return owners
