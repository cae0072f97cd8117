"""Loaders: deals, orders and bindings from a portal as typed pandas DataFrames.

Each loader is a thin verb over :class:`~b24nb.portal.Portal` (``list``, ``batch``, ``call``)
and never touches HTTP itself. Dtypes come from the portal's field metadata
(``crm.deal.fields``, ``sale.order.getFields``, ``crm.orderentity.getFields``), and unknown
``select``/``filter`` names are refused before anything is listed. The frame shapes are
pinned in ``docs/contracts.md`` §Frames.
"""

from __future__ import annotations

from b24nb.load._fields import forget_fields
from b24nb.load.bindings import load_bindings
from b24nb.load.cache import cache_line
from b24nb.load.deals import CONTACT_COLUMNS, DEFAULT_DEAL_SELECT, load_deals
from b24nb.load.invoices import DEFAULT_INVOICE_SELECT, load_invoices, served_invoices
from b24nb.load.orders import CLIENT_COLUMNS, CUSTOMER_COLUMNS, PROPERTY_CODES, load_orders
from b24nb.load.together import load_all

__all__ = [
    "CLIENT_COLUMNS",
    "CONTACT_COLUMNS",
    "CUSTOMER_COLUMNS",
    "DEFAULT_DEAL_SELECT",
    "DEFAULT_INVOICE_SELECT",
    "PROPERTY_CODES",
    "cache_line",
    "forget_fields",
    "load_all",
    "load_bindings",
    "load_deals",
    "load_invoices",
    "load_orders",
    "served_invoices",
]
