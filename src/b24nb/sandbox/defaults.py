"""What a new deal, contact, company or order gets for the fields it does not set.

The rules are the server's (a new CRM deal is in stage ``NEW`` of funnel 0, modified when
created, assigned to the creator, …) written column-wise (see :mod:`.bulk`): ``cols`` maps
field names to columns, ``ids`` is the primary-key column, ``now`` the load's clock time.
Each function fills ``cols`` in place.
"""

from __future__ import annotations

from typing import Any

from .bulk import Column, derive, fill

__all__ = ["DEFAULTS"]

_WEEK = 7 * 86400


def _semantic(stage: str) -> str:
    tail = stage.split(":")[-1]
    return "S" if tail == "WON" else "F" if tail in ("LOSE", "APOLOGY") else "P"


def _has_empty(col: Column) -> bool:
    return not all(col) if isinstance(col, list) else not col


def _per_id(col: Column, ids: list[int], make: Any) -> Column:
    """``make(id)`` where the value is None (an empty string is kept, as the server does)."""
    if isinstance(col, list):
        if None not in col:
            return col
        return [make(i) if v is None else v for v, i in zip(col, ids, strict=True)]
    return col if col is not None else list(map(make, ids))


def _created(cols: dict[str, Column], now: float, modify: str) -> Column:
    created = cols["DATE_CREATE"] = fill(cols.get("DATE_CREATE"), now)
    cols[modify] = fill(cols.get(modify), created)
    return created


def _owners(cols: dict[str, Column]) -> None:
    assigned = cols["ASSIGNED_BY_ID"] = fill(cols.get("ASSIGNED_BY_ID"), 1)
    created_by = cols["CREATED_BY_ID"] = fill(cols.get("CREATED_BY_ID"), assigned)
    cols["MODIFY_BY_ID"] = fill(cols.get("MODIFY_BY_ID"), created_by)


def _flags(cols: dict[str, Column], names: tuple[str, ...], value: str) -> None:
    for name in names:
        cols[name] = fill(cols.get(name), value)


def deal(cols: dict[str, Column], ids: list[int], now: float) -> None:
    created = _created(cols, now, "DATE_MODIFY")
    stage = cols["STAGE_ID"] = fill(cols.get("STAGE_ID"), "NEW")
    cols["STAGE_SEMANTIC_ID"] = fill(cols.get("STAGE_SEMANTIC_ID"), derive(stage, _semantic))
    cols["CLOSED"] = fill(cols.get("CLOSED"),
                          derive(stage, lambda s: "N" if _semantic(s) == "P" else "Y"))
    cols["IS_NEW"] = fill(cols.get("IS_NEW"),
                          derive(stage, lambda s: "Y" if s.split(":")[-1] == "NEW" else "N"))
    cols["TITLE"] = _per_id(cols.get("TITLE"), ids, lambda i: f"Сделка #{i}")
    for name, value in (("TYPE_ID", "SALE"), ("CATEGORY_ID", 0), ("CURRENCY_ID", "RUB"),
                        ("OPPORTUNITY", 0.0), ("TAX_VALUE", 0.0)):
        cols[name] = fill(cols.get(name), value)
    begin = cols["BEGINDATE"] = fill(cols.get("BEGINDATE"), created)
    close = cols.get("CLOSEDATE")
    if _has_empty(close):
        week_on = [b + _WEEK for b in begin] if isinstance(begin, list) else begin + _WEEK
        cols["CLOSEDATE"] = fill(close, week_on)
    _owners(cols)
    _flags(cols, ("IS_RECURRING", "IS_RETURN_CUSTOMER", "IS_REPEATED_APPROACH",
                  "IS_MANUAL_OPPORTUNITY"), "N")
    cols["OPENED"] = fill(cols.get("OPENED"), "Y")


def person(cols: dict[str, Column], ids: list[int], now: float, *, contact: bool) -> None:
    _created(cols, now, "DATE_MODIFY")
    _owners(cols)
    cols["OPENED"] = fill(cols.get("OPENED"), "Y")
    # HAS_PHONE / HAS_EMAIL come from the multifields the loader saw; none seen: "N"
    _flags(cols, ("HAS_PHONE", "HAS_EMAIL"), "N")
    if contact:
        cols["HAS_IMOL"] = "N"
        cols["EXPORT"] = fill(cols.get("EXPORT"), "Y")
        cols["TYPE_ID"] = fill(cols.get("TYPE_ID"), "CLIENT")
        cols["NAME"] = _per_id(cols.get("NAME"), ids, lambda i: "")
    else:
        cols["COMPANY_TYPE"] = fill(cols.get("COMPANY_TYPE"), "CUSTOMER")
        cols["IS_MY_COMPANY"] = fill(cols.get("IS_MY_COMPANY"), "N")
        cols["CURRENCY_ID"] = fill(cols.get("CURRENCY_ID"), "RUB")
        cols["TITLE"] = _per_id(cols.get("TITLE"), ids, lambda i: f"Компания #{i}")


def order(cols: dict[str, Column], ids: list[int], now: float) -> None:
    inserted = cols["dateInsert"] = fill(cols.get("dateInsert"), now)
    cols["dateUpdate"] = fill(cols.get("dateUpdate"), inserted)
    cols["dateStatus"] = fill(cols.get("dateStatus"), inserted)
    cols["lid"] = fill(cols.get("lid"), "s1")
    number = cols.get("accountNumber")
    if _has_empty(number):
        cols["accountNumber"] = fill(number, list(map(str, ids)))
    for name, value in (("personTypeId", 1), ("statusId", "N"), ("currency", "RUB"),
                        ("price", 0.0), ("discountValue", 0.0), ("taxValue", 0.0),
                        ("version", 0), ("responsibleId", 1)):
        cols[name] = fill(cols.get(name), value)
    _flags(cols, ("payed", "canceled", "deducted", "marked", "externalOrder", "updated1c",
                  "recountFlag"), "N")
    cols["xmlId"] = _per_id(cols.get("xmlId"), ids, lambda i: f"bx_{i:013x}")


DEFAULTS = {
    "deals": deal,
    "contacts": lambda cols, ids, now: person(cols, ids, now, contact=True),
    "companies": lambda cols, ids, now: person(cols, ids, now, contact=False),
    "orders": order,
}
