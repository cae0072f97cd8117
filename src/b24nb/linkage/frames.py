"""The inputs of the health report: frames from a portal or given, and one owners table.

Why one owners table: an order's owner is a deal (type 2), a smart invoice (31) or a legacy
invoice (5), each with its own field names. Every check (does the owner exist, do amounts and
currencies agree, is it the same customer) reads the same few facts, so they are put side by
side once, keyed by ``(owner_type_id, owner_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from b24nb.errors import ValidationError

__all__ = ["Inputs", "auto_created_deals", "existing_owners", "gather", "owners_table"]

DEAL, SMART, LEGACY = 2, 31, 5
#: per owner type: (title, amount, currency, created, modified, stage) columns of its frame
_OWNER_COLUMNS: dict[int, tuple[str, str, str, str, str, str]] = {
    DEAL: ("TITLE", "OPPORTUNITY", "CURRENCY_ID", "DATE_CREATE", "DATE_MODIFY", "STAGE_ID"),
    SMART: ("title", "opportunity", "currencyId", "createdTime", "updatedTime", "stageId"),
    LEGACY: ("ORDER_TOPIC", "PRICE", "CURRENCY", "DATE_INSERT", "DATE_UPDATE", "STATUS_ID"),
}
_CONTACT = ("contact_name", "contact_emails", "contact_phones")
# a title that *is* an order reference, as sale.order.add writes it (research §10):
# "Заказ №123", "Заказ №123 от 01.02.2025", "Order #123", "Заказ 123"
_AUTO_TITLE = re.compile(r"^\s*(?:заказ|order)\s*(?:№|#)?\s*([0-9A-Za-z][\w\-]*)",
                         re.IGNORECASE)


@dataclass
class Inputs:
    """What the report reads: deals, orders, bindings and invoice frames (possibly empty)."""

    deals: pd.DataFrame
    orders: pd.DataFrame
    bindings: pd.DataFrame
    invoices: list[pd.DataFrame]
    #: owner types whose frame was loaded: a binding to another type cannot be judged
    loaded_types: frozenset[int]


def _invoice_frames(invoices: Any) -> list[pd.DataFrame]:
    if invoices is None:
        return []
    frames = [invoices] if isinstance(invoices, pd.DataFrame) else list(invoices)
    for f in frames:
        if not isinstance(f, pd.DataFrame) or "owner_type_id" not in f.columns:
            raise ValidationError("health: invoices must be load_invoices() frames",
                                  ["a frame without an owner_type_id column"])
    return frames


def gather(source: Any = None, *, deals: pd.DataFrame | None = None,
           orders: pd.DataFrame | None = None, bindings: pd.DataFrame | None = None,
           invoices: Any = None, progress: bool = False) -> Inputs:
    """Frames given, or loaded from the portal ``source`` (read-only calls only).

    ``source`` may also be a mapping with the keys ``deals``, ``orders``, ``bindings``,
    ``invoices``. Invoices are loaded only when the portal serves them.
    """
    if isinstance(source, Mapping):
        deals = source.get("deals", deals)
        orders = source.get("orders", orders)
        bindings = source.get("bindings", bindings)
        invoices = source.get("invoices", invoices)
        source = None
    if source is not None:
        from b24nb.load import load_bindings, load_deals, load_orders, served_invoices

        deals = load_deals(source, progress=progress) if deals is None else deals
        orders = load_orders(source, progress=progress) if orders is None else orders
        bindings = load_bindings(source, progress=progress) if bindings is None else bindings
        if invoices is None:  # both kinds the portal serves (a kind it lacks is left out)
            invoices = served_invoices(source, progress=progress)
    missing = [n for n, f in (("deals", deals), ("orders", orders), ("bindings", bindings))
               if not isinstance(f, pd.DataFrame)]
    if missing:
        raise ValidationError("health: give a portal, or deals, orders and bindings frames",
                              [f"{n} is missing" for n in missing])
    frames = _invoice_frames(invoices)
    types = {DEAL} | {int(t) for f in frames for t in f["owner_type_id"].dropna().unique()}
    types |= {int(t) for f in frames if len(f) == 0 for t in _empty_type(f)}
    return Inputs(deals, orders, bindings, frames, frozenset(types))


def _empty_type(frame: pd.DataFrame) -> Sequence[int]:
    """The owner type of an empty invoice frame, from its columns (it has no rows to say)."""
    if "accountNumber" in frame.columns or "opportunity" in frame.columns:
        return [SMART]
    if "PRICE" in frame.columns or "ACCOUNT_NUMBER" in frame.columns:
        return [LEGACY]
    return []


def _col(frame: pd.DataFrame, name: str, dtype: str) -> pd.Series:
    if name in frame.columns:
        return frame[name].astype(dtype)
    return pd.Series(pd.NA, index=frame.index, dtype=dtype)


def owners_table(inputs: Inputs) -> pd.DataFrame:
    """Deals and invoices as one frame indexed by ``(owner_type_id, owner_id)``.

    Columns: ``title``, ``amount``, ``currency``, ``created``, ``modified``, ``stage``,
    ``contact_name``, ``contact_emails``, ``contact_phones``.
    """
    parts = []
    for frame, otype in [(inputs.deals, DEAL)] + [(f, None) for f in inputs.invoices]:
        if otype is None:
            types = frame["owner_type_id"].dropna().unique()
            otype = int(types[0]) if len(types) else (_empty_type(frame) or [SMART])[0]
        title, amount, cur, created, modified, stage = _OWNER_COLUMNS[otype]
        part = pd.DataFrame({
            "title": _col(frame, title, "string"),
            "amount": _col(frame, amount, "float64"),
            "currency": _col(frame, cur, "string"),
            "created": _col(frame, created, "datetime64[ns, UTC]"),
            "modified": _col(frame, modified, "datetime64[ns, UTC]"),
            "stage": _col(frame, stage, "string"),
            **{c: _col(frame, c, "string") for c in _CONTACT},
        })
        part.index = pd.MultiIndex.from_arrays(
            [pd.array([otype] * len(frame), dtype="Int64"),
             pd.array(frame.index.astype("Int64"), dtype="Int64")],
            names=["owner_type_id", "owner_id"])
        parts.append(part)
    owners = pd.concat(parts) if parts else pd.DataFrame()
    return owners[~owners.index.duplicated(keep="last")]


def auto_created_deals(deals: pd.DataFrame, orders: pd.DataFrame,
                       window_min: float = 60) -> pd.Series:
    """Per deal (index ``deal_id``), the order it looks auto-created from, or NA.

    The rule (research §10): the title *is* an order reference naming an existing order's
    ``accountNumber``, and the deal was created between 5 minutes before and ``window_min``
    minutes after that order. A manager's "Заказ 123: кухня" made days before is not one.
    """
    out = pd.Series(pd.NA, index=deals.index, dtype="Int64", name="auto_from_order")
    if not len(deals) or not len(orders) or "TITLE" not in deals.columns:
        return out
    ref = deals["TITLE"].astype("string").str.extract(_AUTO_TITLE, expand=False)
    ref = ref.dropna().str.lower()
    if not len(ref):
        return out
    numbers = orders["accountNumber"].astype("string").str.lower()
    by_number = pd.DataFrame({"num": numbers.to_numpy(), "order_id": orders.index.to_numpy(),
                              "t_order": orders["dateInsert"].to_numpy()})
    cand = pd.DataFrame({"deal_id": ref.index.to_numpy(), "num": ref.to_numpy(),
                         "t_deal": deals.loc[ref.index, "DATE_CREATE"].to_numpy()})
    m = cand.merge(by_number, on="num")
    lag = (pd.to_datetime(m["t_deal"], utc=True) - pd.to_datetime(m["t_order"], utc=True)
           ).dt.total_seconds()
    m = m[(lag >= -300).to_numpy() & (lag <= window_min * 60).to_numpy()]
    m = m.drop_duplicates("deal_id")
    out.loc[m["deal_id"].to_numpy()] = m["order_id"].to_numpy(np.int64)
    return out


#: owner type -> (list method, extra params, ID field) to ask whether owners exist
_LOOKUP: dict[int, tuple[str, dict[str, Any], str]] = {
    DEAL: ("crm.deal.list", {}, "ID"),
    SMART: ("crm.item.list", {"entityTypeId": SMART}, "id"),
    LEGACY: ("crm.invoice.list", {}, "ID"),
}


def existing_owners(portal: Any, ask: Mapping[int, Sequence[int]]) -> set[tuple[int, int]]:
    """Which of the ``{owner_type_id: [ids]}`` exist on the portal (read-only lists by ID).

    One command per 50 ids of one type (a ``start=-1`` page holds them all), every type in
    the same batches: the demo's few dangling owners of two types cost one request, not two.
    """
    from b24nb.load._batch import BATCH_SIZE, chunks, run_batched

    commands: list[tuple[str, tuple[str, dict[str, Any]]]] = []
    for otype, ids in ask.items():
        spec = _LOOKUP.get(int(otype))
        if spec is None:
            continue
        method, extra, idf = spec
        for n, chunk in enumerate(chunks(sorted(set(ids)), BATCH_SIZE)):
            commands.append((f"t{int(otype)}_{n}", (method, {
                **extra, "filter": {f"@{idf}": list(chunk)}, "select": [idf], "start": -1})))
    found: set[tuple[int, int]] = set()
    for key, result in run_batched(portal, commands, len(commands), desc="owners",
                                   progress=False):
        otype = int(key[1:].split("_", 1)[0])
        idf = _LOOKUP[otype][2]
        rows = result.get("items", []) if isinstance(result, Mapping) else result
        found.update((otype, int(r[idf])) for r in rows or ())
    return found
