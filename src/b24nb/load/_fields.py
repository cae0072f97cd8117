"""Field metadata: fetch it once per portal, check names against it, map types to dtypes.

Why: the portal silently drops ``select``/``filter`` keys it does not know, so a typo returns
*every* record or a column of nothing, and nobody notices. We ask the portal's own ``*.fields``
method what exists, refuse unknown names before any list request, and derive every column's
dtype from the declared type instead of a hand-kept table that would drift from the portal
(custom ``UF_*`` fields come and go).
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from b24nb.errors import FieldError, MethodNotFoundError

__all__ = ["FieldInfo", "Kind", "check_fields", "field_infos", "filter_names", "forget_fields",
           "kind_of"]

log = logging.getLogger(__name__)


class Kind:
    """What a column becomes; one name per converter in :mod:`b24nb.load._convert`."""

    INT = "Int64"
    FLOAT = "float64"
    MONEY = "money"  # "1000|RUB" (user-field money) or a plain number -> float64
    DATETIME = "datetime"
    BOOL = "boolean"  # Y/N, 1/0, true/false
    FLAG = "flag"  # declared "char": a Y/N flag unless the data says otherwise
    STRING = "string"
    OBJECT = "object"  # multiple values (lists), nested records
    INFER = "infer"  # no metadata for this field: decide from the values


# Declared type -> kind. Types are the portal's vocabulary (crm.*.fields, sale.*.getFields),
# not field names: a new UF_* field of type "double" needs no change here.
_TYPE_KINDS: dict[str, str] = {
    "integer": Kind.INT,
    "int": Kind.INT,
    "user": Kind.INT,
    "employee": Kind.INT,
    "crm_contact": Kind.INT,
    "crm_company": Kind.INT,
    "crm_lead": Kind.INT,
    "crm_quote": Kind.INT,
    "crm_deal": Kind.INT,
    "crm_category": Kind.INT,
    "double": Kind.FLOAT,
    "float": Kind.FLOAT,
    "number": Kind.FLOAT,
    "money": Kind.MONEY,
    "datetime": Kind.DATETIME,
    "date": Kind.DATETIME,
    "boolean": Kind.BOOL,
    "bool": Kind.BOOL,
    "char": Kind.FLAG,
    "string": Kind.STRING,
    "text": Kind.STRING,
    "url": Kind.STRING,
    "crm_status": Kind.STRING,
    "crm_currency": Kind.STRING,
    "enumeration": Kind.STRING,
    "location": Kind.STRING,
    "crm": Kind.STRING,  # UF link to a CRM item, e.g. "D_12"
    "address": Kind.STRING,
    "crm_multifield": Kind.OBJECT,
    "file": Kind.OBJECT,
}


class FieldInfo(dict):
    """One field's metadata as the portal describes it (``type``, ``isMultiple``, ``title``…)."""

    @property
    def kind(self) -> str:
        return kind_of(self)


def kind_of(meta: Mapping[str, Any] | None) -> str:
    """Map one field's metadata to a :class:`Kind`.

    Multiple-valued fields stay ``object`` (lists): flattening them would lose values.
    An undeclared type is inferred from the values rather than guessed as text.
    """
    if not meta:
        return Kind.INFER
    if meta.get("isMultiple") in (True, "Y", "1", 1):
        return Kind.OBJECT
    return _TYPE_KINDS.get(str(meta.get("type", "")).lower(), Kind.INFER)


# -- metadata cache ------------------------------------------------------------------------
# Field lists change rarely (an admin adds a UF field), but a notebook calls the loaders again
# and again; one metadata request per portal per few minutes is enough. Keyed by the portal's
# identity (a Portal need not be hashable), with a weak reference to tell a dead portal's
# entry from a new object that happens to reuse its id.
_TTL_SECONDS = 600.0
_cache: dict[int, tuple[Any, dict[str, tuple[float, dict[str, FieldInfo]]]]] = {}
_lock = threading.Lock()


def _slot(portal: Any, create: bool) -> dict[str, tuple[float, dict[str, FieldInfo]]] | None:
    key = id(portal)
    entry = _cache.get(key)
    if entry is not None and entry[0] is not None and entry[0]() is not portal:
        del _cache[key]
        entry = None
    if entry is None and create:
        try:
            ref: Any = weakref.ref(portal)
            weakref.finalize(portal, _cache.pop, key, None)
        except TypeError:  # not weakly referenceable: the TTL alone bounds staleness
            ref = None
        entry = _cache[key] = (ref, {})
    return None if entry is None else entry[1]


def _unwrap(result: Any) -> Mapping[str, Any]:
    """``crm.deal.fields`` answers ``{FIELD: meta}``; ``sale.order.getFields`` wraps it
    once more (``{"order": {field: meta}}``) and so does ``crm.orderentity.getFields``."""
    if isinstance(result, Mapping) and len(result) == 1:
        (only,) = result.values()
        nested = isinstance(only, Mapping) and only
        if nested and all(isinstance(v, Mapping) for v in only.values()):
            inner = next(iter(only.values()))
            if "type" in inner:
                return only
    return result if isinstance(result, Mapping) else {}


def field_infos(portal: Any, method: str, *, optional: bool = False) -> dict[str, FieldInfo]:
    """Return ``{name: FieldInfo}`` from a fields method, cached per portal for a few minutes.

    Parameters
    ----------
    portal : Portal
    method : str
        ``crm.deal.fields``, ``sale.order.getFields``, ``crm.orderentity.getFields``…
    optional : bool
        When the portal does not publish the method, return ``{}`` (dtypes are then inferred
        from the values and names are not checked) instead of raising.
    """
    now = time.monotonic()
    with _lock:
        slot = _slot(portal, create=False)
        entry = slot.get(method) if slot else None
    if entry is not None and now - entry[0] < _TTL_SECONDS:
        return entry[1]
    try:
        result = portal.call(method, {})
    except MethodNotFoundError:
        if not optional:
            raise
        log.warning("%s is not served by this portal; dtypes will be inferred from values", method)
        result = {}
    infos = {str(k): FieldInfo(v) for k, v in _unwrap(result).items() if isinstance(v, Mapping)}
    with _lock:
        slot = _slot(portal, create=True)
        if slot is not None:
            slot[method] = (now, infos)
    return infos


def forget_fields(portal: Any) -> None:
    """Drop the cached metadata of one portal (after an admin changed its fields)."""
    with _lock:
        _cache.pop(id(portal), None)


# -- name checks ---------------------------------------------------------------------------
_PREFIX_CHARS = "<>=!@%?~*"  # filter operators: >=, >, <=, <, =, !, @, !@, %, =%, %=, !%, ><…
_SKIP_KEYS = {"logic"}  # {"LOGIC": "OR", "0": {...}, "1": {...}} sub-filters


def filter_names(filter: Mapping[str, Any] | None) -> list[str]:
    """The bare field names of a filter: operator prefixes stripped, sub-filters walked."""
    names: list[str] = []
    for key, value in (filter or {}).items():
        key = str(key)
        if key.lower() in _SKIP_KEYS:
            continue
        if key.isdigit() and isinstance(value, Mapping):  # a nested sub-filter
            names.extend(filter_names(value))
            continue
        names.append(key.lstrip(_PREFIX_CHARS))
    return names


def _closest(name: str, known: Iterable[str]) -> list[str]:
    known = list(known)
    same_case = [k for k in known if k.lower() == name.lower()]
    if same_case:
        return same_case
    by_upper = {k.upper(): k for k in known}
    hits = difflib.get_close_matches(name.upper(), list(by_upper), n=3, cutoff=0.6)
    return [by_upper[h] for h in hits]


def check_fields(
    method: str,
    infos: Mapping[str, Any],
    *,
    select: Iterable[str] = (),
    filter: Mapping[str, Any] | None = None,
    wildcards: Iterable[str] = ("*",),
    extra: Iterable[str] = (),
    ignore_case: bool = False,
) -> None:
    """Raise :class:`~b24nb.errors.FieldError` naming every unknown field and its neighbours.

    ``ignore_case`` is for the legacy CRM methods, whose server upper-cases names itself.
    Nothing is checked when ``infos`` is empty (the portal gave no metadata): refusing every
    name then would make the loader unusable on such a portal.
    """
    if not infos:
        return
    known = set(infos) | set(extra)
    folded = {k.upper() for k in known} if ignore_case else set()
    wild = set(wildcards)
    problems: list[str] = []
    for where, names in (("select", list(select)), ("filter", filter_names(filter))):
        for name in names:
            if name in known or name in wild or name.upper() in folded:
                continue
            near = _closest(name, known)
            hint = f"; closest known: {', '.join(near)}" if near else ""
            problems.append(f"{where}: unknown field {name!r}{hint}")
    if problems:
        raise FieldError(
            f"{method}: the portal would silently ignore these field names", problems
        )
