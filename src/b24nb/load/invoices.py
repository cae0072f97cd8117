"""``load_invoices``: smart or legacy invoices as a typed frame, shaped to be an order's owner.

Why: ``crm.orderentity.add`` binds an order to a deal *or an invoice* (research
``bitrix24-api.md`` §1). Matching, binding and the health report need invoices in the same
shape as deals: one row per invoice, dtypes from the portal's own field metadata, the
contact's name, e-mails and phones beside it, and the owner type the binding will carry.

Two kinds, two APIs (docs/contracts.md "invoices"):

* ``kind="smart"`` — ``crm.item.list`` with ``entityTypeId=31``: camelCase names, typed
  values under ``items``; metadata from ``crm.item.fields`` (``{"fields": {...}}``).
* ``kind="legacy"`` — ``crm.invoice.list``: UPPER_SNAKE names, strings; metadata from
  ``crm.invoice.fields``. The contact is ``UF_CONTACT_ID``.

Both lists are walked by ID (``portal.list``), like deals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from b24nb.errors import MethodNotFoundError, NotFoundError
from b24nb.load._convert import STRING, typed_frame
from b24nb.load._fields import FieldInfo, _unwrap, check_fields, field_infos
from b24nb.load.deals import CONTACT_COLUMNS, _contacts, _dedupe, _expand

__all__ = ["DEFAULT_INVOICE_SELECT", "INVOICE_KINDS", "load_invoices", "served_invoices"]

log = logging.getLogger(__name__)

#: kind -> (list method, fields method, ID field, contact field, owner type id)
INVOICE_KINDS: dict[str, tuple[str, str, str, str, int]] = {
    "smart": ("crm.item.list", "crm.item.fields", "id", "contactId", 31),
    "legacy": ("crm.invoice.list", "crm.invoice.fields", "ID", "UF_CONTACT_ID", 5),
}

#: What ``load_invoices`` asks for when no ``select`` is given, per kind.
DEFAULT_INVOICE_SELECT: dict[str, tuple[str, ...]] = {
    "smart": ("id", "title", "accountNumber", "stageId", "categoryId", "opportunity",
              "currencyId", "contactId", "companyId", "assignedById", "createdTime",
              "updatedTime", "begindate", "closedate"),
    "legacy": ("ID", "ACCOUNT_NUMBER", "ORDER_TOPIC", "STATUS_ID", "PRICE", "CURRENCY",
               "UF_CONTACT_ID", "UF_COMPANY_ID", "UF_DEAL_ID", "RESPONSIBLE_ID", "DATE_INSERT",
               "DATE_UPDATE", "DATE_BILL", "DATE_PAY_BEFORE", "PAYED", "PERSON_TYPE_ID"),
}
_SMART = 31
_WILDCARDS = ("*", "UF_*")


def _smart_fields(portal: Any) -> dict[str, FieldInfo]:
    """``crm.item.fields`` for type 31: ``{"fields": {name: meta}}``, metadata by name.

    Not cached with :func:`field_infos`: that cache is keyed by method alone, and this
    method answers per ``entityTypeId``.
    """
    result = portal.call("crm.item.fields", {"entityTypeId": _SMART})
    if isinstance(result, Mapping) and isinstance(result.get("fields"), Mapping):
        result = result["fields"]
    return {str(k): FieldInfo(v) for k, v in _unwrap(result).items() if isinstance(v, Mapping)}


def load_invoices(
    portal: Any,
    kind: str = "smart",
    filter: Mapping[str, Any] | None = None,
    select: Sequence[str] | None = None,
    contacts: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Load smart or legacy invoices into a frame indexed by ``invoice_id``.

    Parameters
    ----------
    portal : Portal
        From :func:`b24nb.connect`.
    kind : {"smart", "legacy"}
        Smart invoices (``crm.item.list``, ``entityTypeId=31``, owner type 31) or the old
        ones (``crm.invoice.list``, owner type 5).
    filter : mapping, optional
        Passed through in the method's own names (``{"stageId": "DT31_1:P"}`` or
        ``{"STATUS_ID": "P"}``).
    select : sequence of str, optional
        Field names (``"*"`` allowed). Default :data:`DEFAULT_INVOICE_SELECT` of the kind.
    contacts : bool
        Add ``contact_name``, ``contact_email``, ``contact_emails``, ``contact_phone``,
        ``contact_phones`` for the invoice's contact, as :func:`b24nb.load_deals` does.
    progress : bool
        Show progress bars.

    Returns
    -------
    pandas.DataFrame
        Columns keep the portal's names (``title``, ``opportunity``… or ``ACCOUNT_NUMBER``,
        ``PRICE``…), typed from the metadata, plus ``owner_type_id`` (Int64: 31 or 5) and
        the contact columns.

    Raises
    ------
    ValueError
        An unknown ``kind``.
    b24nb.errors.FieldError
        A ``select`` or ``filter`` name the portal does not know, before any list request.
    b24nb.errors.ListIncompleteError
        The listing stopped part-way.

    Examples
    --------
    >>> smart = b24nb.load_invoices(portal)  # doctest: +SKIP
    >>> legacy = b24nb.load_invoices(portal, kind="legacy")  # doctest: +SKIP
    """
    if kind not in INVOICE_KINDS:
        raise ValueError(f"kind must be one of {sorted(INVOICE_KINDS)}, not {kind!r}")
    method, fields_method, idf, contact_field, owner_type = INVOICE_KINDS[kind]
    if isinstance(select, str):
        select = [select]
    smart = kind == "smart"
    infos = _smart_fields(portal) if smart else field_infos(portal, fields_method)
    if select is None:
        wanted = [f for f in DEFAULT_INVOICE_SELECT[kind] if not infos or f in infos]
    elif smart:
        wanted = [str(f) for f in select]
    else:  # the legacy layer upper-cases names; columns use the real name
        upper = {k.upper(): k for k in infos}
        wanted = [upper.get(str(f).upper(), str(f)) for f in select]
    check_fields(method, infos, select=wanted, filter=filter, wildcards=_WILDCARDS,
                 ignore_case=not smart)

    request = _dedupe([idf, *wanted, *([contact_field] if contacts else [])])
    params: dict[str, Any] = {"select": request}
    if smart:
        params["entityTypeId"] = _SMART
    if filter:
        params["filter"] = dict(filter)
    rows = list(portal.list(method, params, progress=progress))
    if smart and "*" in request:
        rows = [{k: v for k, v in r.items() if k != "contactIds"} for r in rows]
    columns = _expand(request, infos, rows)
    frame = typed_frame(rows, columns, infos, id_field=idf, index_name="invoice_id")
    del rows
    frame["owner_type_id"] = pd.array([owner_type] * len(frame), dtype="Int64")
    frame.attrs["invoice_kind"] = kind  # "smart" or "legacy", for labels
    if contacts:
        people = _contacts(portal, frame[contact_field], progress=progress)
        joined = frame[[contact_field]].merge(people, how="left", left_on=contact_field,
                                              right_index=True)
        for name in CONTACT_COLUMNS:
            frame[name] = pd.array(joined[name].to_numpy(dtype=object, na_value=None),
                                   dtype=STRING)
    return frame


def served_invoices(portal: Any, *, progress: bool = True) -> list[pd.DataFrame]:
    """Both kinds of invoices the portal serves, smart first, read side by side.

    Why a kind may be missing: a portal without smart invoices answers ``NOT_FOUND`` for
    entity type 31, and one without the legacy module has no ``crm.invoice.list``. Such a
    kind is left out (logged at INFO) instead of failing the health report that only wants
    "every owner an order can have"; any other error is raised. The two kinds wait on the
    portal, not on this machine, so they are read at once within the one shared bucket.
    """
    def one(kind: str) -> pd.DataFrame | None:
        try:
            return load_invoices(portal, kind=kind, progress=progress)
        except (MethodNotFoundError, NotFoundError):
            log.info("the portal serves no %s invoices", kind)
            return None

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="b24nb-invoices") as pool:
        frames = list(pool.map(one, INVOICE_KINDS))
    return [f for f in frames if f is not None]
