"""Read the current owner of many orders in few requests.

Why ranges and not ``@orderId``: ``crm.orderentity.list`` casts every filter value with
``(int)``, so an IN-list ``@orderId: [..]`` turns into ``orderId = 1`` (research §1; the
sandbox reproduces it). Scalar ``>=orderId``/``<=orderId`` survive the cast. So the selected
ids are cut into a few id ranges, the first page of every range is asked for in one
``batch`` (50 ranges per request), and only ranges with more than 50 bindings are paged on,
again 50 pages per request. 10,000 mostly unbound orders cost one request; 10,000 bound ones
cost five (2,500 rows per request is the portal's ceiling).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from b24nb.errors import PortalError

__all__ = ["read_owners", "split_ranges"]

logger = logging.getLogger(__name__)

METHOD = "crm.orderentity.list"
PAGE = 50
BATCH = 50
#: a gap this wide between selected ids starts a new range, so bindings of unselected
#: orders in between are not read for nothing
GAP = 500
#: rounds of retrying read commands that failed inside a batch (the client already retried
#: whole requests per its policy)
ROUNDS = 6

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


def _params(lo: int, hi: int, start: int) -> dict[str, Any]:
    return {
        "filter": {">=orderId": lo, "<=orderId": hi},
        "select": ["orderId", "ownerId", "ownerTypeId"],
        "order": {"orderId": "ASC"},
        "start": start,
    }


def read_owners(
    portal: Any,
    order_ids: Iterable[int],
    *,
    on_request: Callable[[], None] | None = None,
) -> dict[int, Owner]:
    """Return ``{order_id: (owner_id, owner_type_id)}`` for the bound ones among ``order_ids``.

    Orders absent from the answer are unbound. Raises the :class:`PortalError` of a read
    that kept failing, so an incomplete read can never pass for "unbound".
    """
    wanted = {int(o) for o in order_ids}
    owners: dict[int, Owner] = {}
    todo: list[tuple[int, int, int]] = [(lo, hi, 0) for lo, hi in split_ranges(wanted)]
    failures: dict[tuple[int, int, int], int] = {}
    while todo:
        chunk, todo = todo[:BATCH], todo[BATCH:]
        commands = {f"r{n}": (METHOD, _params(*job)) for n, job in enumerate(chunk)}
        answers = portal.batch(commands)
        if on_request is not None:
            on_request()
        for n, job in enumerate(chunk):
            res = answers[f"r{n}"]
            if not res.ok:
                failures[job] = failures.get(job, 0) + 1
                err = res.error
                if failures[job] >= ROUNDS or not getattr(err, "transient", False):
                    raise (
                        err
                        if isinstance(err, PortalError)
                        else PortalError("READ_FAILED", f"{METHOD} failed", method=METHOD)
                    )
                todo.append(job)
                continue
            lo, hi, start = job
            rows = _rows(res.result)
            for row in rows:
                oid = int(row["orderId"])
                if oid in wanted:
                    owners[oid] = (int(row["ownerId"]), int(row["ownerTypeId"]))
            if start == 0:
                total = res.total if res.total is not None else len(rows)
                # the remaining pages of this range, all known now
                todo.extend((lo, hi, s) for s in range(PAGE, int(total), PAGE))
    logger.debug("read owners of %d orders: %d bound", len(wanted), len(owners))
    return owners
