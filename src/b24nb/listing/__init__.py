"""``Portal.list``: every record of a list method, as fast as the portal allows, never short.

Two strategies, picked per method:

**ID walk** (methods with an ID: ``crm.deal.list`` ``ID``, ``crm.contact.list`` ``ID``,
``sale.order.list`` ``id`` under ``orders``, ``crm.item.list`` ``id`` under ``items``,
``sale.propertyvalue.list`` ``id`` under ``propertyValues``; ``crm.orderentity.list``: no ID,
but a unique ``orderId``, under ``orderEntity``). Pages are read with ``start=-1``
(no count, cheap at any table size) and ``filter[>ID]`` = the last ID seen; inside one
``batch`` each page's cursor is ``$result[p<i-1>][49][ID]`` of the page before, so one HTTP
request carries 50 pages = 2,500 rows (the model is b24pysdk's ``as_list_fast``). One probe
request first reads the first page *with* the count and the highest ID; when the IDs in
between are dense (as in an unfiltered table) the rest is cut into ranges of exactly 2,500
IDs, each one batch, walked by a few threads at once within the shared rate limiter —
``⌈N/2500⌉ + 1`` requests in all. Sparse IDs (a filtered list) are cut into ranges of equal
width and counted first; a range holding more than 2,500 rows takes another batch.
(:mod:`b24nb.listing._walk`)

**Offset pages** (methods without a usable ID, and any list with a user ``order``): a first
call gives ``total``; the remaining ``start`` offsets go 50
to a batch, a few batches at once. (:mod:`b24nb.listing._offset`)

Decisions:

- The user's ``filter`` and ``select`` are kept. When ``select`` names fields but not the ID,
  the ID is added (the walk needs it) and removed again from every row, so rows look exactly
  as the method returns them for that ``select``. A user ``>ID``/``>=ID``/``<ID``/``<=ID``
  bound narrows the walk.
- A user ``order`` other than ascending ID switches to offset pages, which honour it; the ID
  is added as the last sort key so rows that tie cannot swap places between pages.
- The list is a snapshot of the probe: rows created later (IDs above the highest seen) are not
  included. A range walk ends on a short page or at its last ID, never on the probe's count,
  so a row that matched throughout is never pushed out by one that joined meanwhile.
- Any error raises :class:`~b24nb.errors.ListIncompleteError` with ``rows`` = everything
  fetched so far. Limit refusals of single commands (``OPERATION_TIME_LIMIT``,
  ``QUERY_LIMIT_EXCEEDED``) and transient server errors are retried from the last cursor
  first, as whole-request failures are. Offset pages whose count moved while they were read
  raise too (``LIST_CHANGED``): shifted offsets skip rows silently.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from b24nb.errors import ListIncompleteError, PortalError
from b24nb.listing._offset import offset_pages
from b24nb.listing._probe import SharedProbe
from b24nb.listing._run import Failed, ListPortal, Run, get_param
from b24nb.listing._walk import id_walk

__all__ = ["ID_METHODS", "OFFSET_METHODS", "ListPortal", "SharedProbe", "iter_list"]

#: method -> (ID field, result wrapper key or None)
ID_METHODS: dict[str, tuple[str, str | None]] = {
    "crm.deal.list": ("ID", None),
    "crm.contact.list": ("ID", None),
    "crm.company.list": ("ID", None),
    "crm.lead.list": ("ID", None),
    "crm.ordercontactcompany.list": ("id", "clients"),  # page key CLIENTS, camelCase out
    "crm.invoice.list": ("ID", None),
    "sale.order.list": ("id", "orders"),
    "crm.item.list": ("id", "items"),
    "sale.propertyvalue.list": ("id", "propertyValues"),
    # no ID column, but ORDER_ID is unique in b_crm_order_entity: a perfect keyset cursor
    "crm.orderentity.list": ("orderId", "orderEntity"),
}
#: method -> (result wrapper key, default order making offset pages deterministic)
OFFSET_METHODS: dict[str, tuple[str | None, dict[str, str] | None]] = {}


def _walkable(spec: tuple[str, str | None] | None, params: Mapping[str, Any]) -> bool:
    """True when the ID walk gives what the user asked for (ascending ID, a plain filter)."""
    if spec is None:
        return False
    order = get_param(params, "order")
    if order:
        if not isinstance(order, Mapping):
            return False  # let the portal judge a malformed order, on the plain path
        wanted = {str(k).lower(): str(v).upper() for k, v in order.items()}
        if wanted != {spec[0].lower(): "ASC"}:
            return False  # honour the user's order with offset pages
    # a malformed filter goes the plain path too, for the portal to judge
    return isinstance(get_param(params, "filter") or {}, Mapping)


def iter_list(portal: ListPortal, method: str, params: dict[str, Any], *,
              progress: bool, spare: int = 0, shared: SharedProbe | None = None
              ) -> Iterator[dict[str, Any]]:
    """The generator behind :meth:`b24nb.portal.Portal.list` (see the module docstring)."""
    key = method.strip().lower()
    spec = ID_METHODS.get(key)
    run = Run(portal, method, progress)
    run.spare = max(0, int(spare))
    run.shared = shared
    done: list[dict[str, Any]] = []
    if _walkable(spec, params):
        gen = id_walk(run, params, *spec)  # type: ignore[misc]
    elif spec is not None:
        gen = offset_pages(run, params, spec[1], {spec[0]: "ASC"}, spec[0])
    else:
        gen = offset_pages(run, params, *OFFSET_METHODS.get(key, (None, None)))
    try:
        for chunk in gen:
            done.extend(chunk)
            yield from chunk
    except Failed as f:
        raise ListIncompleteError(method, done + f.rows, f.error) from f.error
    except PortalError as e:
        raise ListIncompleteError(method, done, e) from e
    finally:
        run.close()
        gen.close()  # stops the worker pool now, not when the generator is collected
