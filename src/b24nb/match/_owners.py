"""Owners an order can be bound to: deals, and invoices (smart 31, legacy 5) as if deals.

Why one table: an order has one owner whatever its type, so deals and invoices compete for it
in the same model and the same one-to-one assignment. Invoices are renamed to the deal
columns the matcher reads (docs/contracts.md, the invoices contract); ``owner_type_id`` tells
them apart, and ids are only unique within a type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError

__all__ = ["combine"]

_CONTACT = ("contact_name", "contact_email", "contact_emails", "contact_phone",
            "contact_phones")
#: invoice kind → (owner type, {deal column: invoice column}); the first present wins
RENAME: dict[int, dict[str, tuple[str, ...]]] = {
    31: {"TITLE": ("title",), "OPPORTUNITY": ("opportunity",), "CURRENCY_ID": ("currencyId",),
         "CONTACT_ID": ("contactId",), "COMPANY_ID": ("companyId",),
         "ASSIGNED_BY_ID": ("assignedById",), "DATE_CREATE": ("createdTime",)},
    5: {"TITLE": ("ORDER_TOPIC", "ACCOUNT_NUMBER"), "OPPORTUNITY": ("PRICE",),
        "CURRENCY_ID": ("CURRENCY",), "CONTACT_ID": ("UF_CONTACT_ID",),
        "COMPANY_ID": ("UF_COMPANY_ID",), "ASSIGNED_BY_ID": ("RESPONSIBLE_ID",),
        "DATE_CREATE": ("DATE_INSERT",)},
}


def _as_deals(inv: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(inv, pd.DataFrame):
        raise ValidationError(f"invoices must be DataFrames, got {type(inv).__name__}")
    if "owner_type_id" in inv.columns and len(inv):
        kinds = pd.unique(pd.to_numeric(inv["owner_type_id"]).astype("Int64").dropna())
        kind = int(kinds[0]) if len(kinds) == 1 else -1
    else:
        kind = 31 if "opportunity" in inv.columns else 5
    if kind not in RENAME:
        raise ValidationError("invoices frame is not usable for matching",
                              ["owner_type_id must be one value, 31 or 5, per frame"])
    out = pd.DataFrame(index=inv.index)
    problems = []
    for col, names in RENAME[kind].items():
        name = next((n for n in names if n in inv.columns), None)
        if name is None:
            if col in ("OPPORTUNITY", "CURRENCY_ID", "DATE_CREATE"):
                problems.append(f"missing column {names[0]!r} (owner type {kind})")
            continue
        out[col] = inv[name]
    if problems:
        raise ValidationError("invoices frame is not usable for matching", problems)
    for col in _CONTACT:
        if col in inv.columns:
            out[col] = inv[col]
    out["owner_type_id"] = kind
    return out


def combine(deals: pd.DataFrame, invoices: pd.DataFrame | list | tuple | None
            ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(owners frame indexed 0…n−1 in deal column names, owner ids, owner types)."""
    frames = [deals.assign(owner_type_id=2)]
    if invoices is not None:
        many = invoices if isinstance(invoices, list | tuple) else [invoices]
        frames += [_as_deals(f) for f in many]
    frames = [f for f in frames if len(f)]
    if not frames:
        return deals.iloc[:0], np.zeros(0, np.int64), np.zeros(0, np.int64)
    both = pd.concat(frames) if len(frames) > 1 else frames[0]
    ids = both.index.to_numpy(np.int64)
    types = both.pop("owner_type_id").to_numpy(np.int64)
    both = both.reset_index(drop=True)
    if len(frames) > 1:  # invoices bring their own dtypes: cast to what the deal checks want
        both["OPPORTUNITY"] = pd.to_numeric(both["OPPORTUNITY"]).astype("float64")
        both["DATE_CREATE"] = pd.to_datetime(both["DATE_CREATE"], utc=True)
        for col in ("CONTACT_ID", "COMPANY_ID", "ASSIGNED_BY_ID"):
            if col in both.columns:
                both[col] = pd.to_numeric(both[col]).astype("Int64")
    both.index = pd.RangeIndex(len(both))
    return both, ids, types
