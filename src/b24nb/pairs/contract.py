"""The contract's words: owner types and names, ``bind_status`` values and groups, columns.

See :mod:`b24nb.pairs` for why they are said once; docs/contracts.md §Frames explains each
column.
"""


from __future__ import annotations

__all__ = [
    "COLUMNS", "COMPARED", "DEAL", "DECIDED_COLUMNS", "DONE", "EV_COLUMNS", "LEGACY_INVOICE",
    "LOG_COLUMNS", "LVL_COLUMNS", "MADE", "OPEN", "OWNER_NAMES", "OWNER_TYPES", "SMART_INVOICE",
    "STATUSES", "UTC", "WEIGHED", "owner_name",
]

# ---------------------------------------------------------------------------- owner types
DEAL, LEGACY_INVOICE, SMART_INVOICE = 2, 5, 31
#: the only owners an order may be bound to (``crm.orderentity`` ``ownerTypeId``)
OWNER_TYPES = frozenset({DEAL, LEGACY_INVOICE, SMART_INVOICE})
#: how messages and the grid name each owner type
OWNER_NAMES: dict[int, str] = {DEAL: "deal", LEGACY_INVOICE: "invoice",
                               SMART_INVOICE: "smart invoice"}


def owner_name(type_id: int) -> str:
    """``deal`` / ``invoice`` / ``smart invoice``, or ``type N`` for one the portal made up."""
    return OWNER_NAMES.get(type_id, f"type {type_id}")


# ---------------------------------------------------------------------------- bind_status
#: every value ``bind_status`` can take
STATUSES = (
    "pending",
    "bound",
    "already_bound",
    "rebound",
    "needs_rebind",
    "failed",
    "skipped",
    "dry_run",
    "unbound",
)
#: the order has the pair's owner now (b24nb wrote it, or found it already there)
DONE = frozenset({"bound", "already_bound", "rebound"})
#: this write made the binding it asked for (``already_bound`` found it made)
MADE = frozenset({"bound", "rebound"})
#: not done and not in flight: what a rerun or *Retry failed* picks up
OPEN = ("failed", "needs_rebind", "skipped")

# ---------------------------------------------------------------------------- columns
UTC = "datetime64[ns, UTC]"
#: every comparison the matcher makes of a pair (one agreement level each)
COMPARED = ("amount", "currency", "client", "email", "phone", "name", "number", "date",
            "responsible", "customer")
#: the comparisons the model weighs (contact, e-mail, phone and name are weighed together
#: as ``customer``; the others are shown)
WEIGHED = ("amount", "currency", "customer", "number", "date", "responsible")
#: log2-odds terms: they add up to ``weight``, whose probability is ``score``
EV_COLUMNS = ("ev_prior", *(f"ev_{c}" for c in WEIGHED), "ev_rivals")
#: agreement levels (small ints; labels in ``b24nb.match.LEVELS``)
LVL_COLUMNS = tuple(f"lvl_{c}" for c in COMPARED)
#: the review's decision columns
DECIDED_COLUMNS: dict[str, str] = {"decision": "string", "decided_at": UTC}
#: the log columns ``bind``/``unbind`` write, row by row
LOG_COLUMNS: dict[str, str] = {
    "bind_status": "string",
    "bind_error": "string",
    "bind_message": "string",
    "bind_response": "object",
    "bind_at": UTC,
}
#: every column of a pairs frame, in order, with its dtype
COLUMNS: dict[str, str] = {
    "deal_id": "Int64",
    "order_id": "Int64",
    "owner_type_id": "Int64",
    "score": "float64",
    "weight": "float64",
    "reasons": "string",
    "found_by": "string",
    **dict.fromkeys(EV_COLUMNS, "float64"),
    **dict.fromkeys(LVL_COLUMNS, "int8"),
    "deal_title": "string",
    "deal_amount": "float64",
    "deal_date": UTC,
    "order_number": "string",
    "order_amount": "float64",
    "order_date": UTC,
    "currency": "string",
    "customer": "string",
    "current_owner_id": "Int64",
    "current_owner_type_id": "Int64",
    "current_owner_auto": "boolean",
    "rebind": "boolean",
    "ambiguous": "boolean",
    "selected": "boolean",
    **DECIDED_COLUMNS,
    **LOG_COLUMNS,
}
