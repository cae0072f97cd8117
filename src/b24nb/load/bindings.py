"""``load_bindings``: every current order → owner binding, so nothing is rebound by accident."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from b24nb.load._convert import typed_frame
from b24nb.load._fields import check_fields, field_infos

__all__ = ["load_bindings"]

_FIELDS = ("orderId", "ownerId", "ownerTypeId")
_RENAME = {"ownerId": "owner_id", "ownerTypeId": "owner_type_id"}


def load_bindings(
    portal: Any,
    filter: Mapping[str, Any] | None = None,
    progress: bool = True,
    cache: bool | str = False,
) -> pd.DataFrame:
    """Load ``crm.orderentity.list`` into a frame indexed by ``order_id``.

    Why: ``crm.orderentity.add`` silently *replaces* an order's owner, so the matcher and
    the bind engine must know each order's current owner before proposing or sending
    anything. An order has at most one owner, so ``order_id`` is unique.

    Parameters
    ----------
    portal : Portal
    filter : mapping, optional
        camelCase, e.g. ``{"ownerTypeId": 2}``. Note that the server casts filter values to
        ``int``, so ``@orderId`` lists do not work there.
    progress : bool
    cache : bool or "refresh"
        Keep the frame on disk to tell, next time, how many bindings changed. Bindings have
        no modified time, so they are always read whole (see :mod:`b24nb.load.cache`).

    Returns
    -------
    pandas.DataFrame
        Index ``order_id`` (Int64); columns ``owner_id``, ``owner_type_id`` (Int64).
    """
    if cache:
        from b24nb.load.cache import warm_load

        return warm_load(portal, "bindings", {"filter": filter}, cache,
                         load=lambda f: load_bindings(portal, f or None, progress), flt=filter)
    infos = field_infos(portal, "crm.orderentity.getFields", optional=True)
    check_fields("crm.orderentity.list", infos, filter=filter)
    params: dict[str, Any] = {"select": list(_FIELDS)}
    if filter:
        params["filter"] = dict(filter)
    # The table has no ID column, but orderId is unique in it: portal.list walks it as a
    # keyset (start=-1, >orderId, chained in batches). Offsets would skip a binding when
    # another user deletes one meanwhile — with `total` unchanged after an insert, unseen.
    # No user `order` is passed, so the walk (never offset pages) is what runs.
    rows = list(portal.list("crm.orderentity.list", params, progress=progress))
    # The server's view declares all three fields integer; so does our contract, even when
    # the portal hides getFields.
    types = {name: infos.get(name) or {"type": "integer"} for name in _FIELDS}
    frame = typed_frame(rows, _FIELDS, types, id_field="orderId", index_name="order_id")
    return frame.rename(columns=_RENAME).sort_index()
