"""What a method handler receives and returns, and how it fails.

Handlers are plain functions ``handler(ctx, params) -> Answer``. They raise :class:`ApiError`
with the server's code, description and HTTP status; the HTTP layer (or ``batch``) turns it
into the error envelope. ``Answer.cost`` is the modelled server time of the call, which the
latency model turns into ``time.processing``, a real (scaled) sleep and operating time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["PAGE", "Answer", "ApiError", "Latency", "param"]

#: The page size of every list method; the server does not let a client change it.
PAGE = 50


class ApiError(Exception):
    """An error answer: ``{"error": code, "error_description": description}`` with ``status``."""

    def __init__(self, code: Any, description: str, status: int = 400,
                 extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.status = status
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON body the server sends for this error (no ``time``: errors have none)."""
        return {"error": self.code, "error_description": self.description, **self.extra}


@dataclass
class Answer:
    """A successful call: its ``result``, list navigation, and modelled server seconds."""

    result: Any
    total: int | None = None
    next: int | None = None
    cost: float = 0.0


@dataclass(frozen=True)
class Latency:
    """Server seconds the emulated portal spends per call (before ``time_scale``).

    The defaults follow the batch durations recorded from a real cloud portal (1.5–2 s for 50
    list pages) and the docs' warning that counting and deep OFFSETs cost time on big tables,
    while an ``ID > last``, ``start=-1`` page stays cheap at any size. ``bind`` is one
    ``crm.orderentity.add`` or ``deleteByFilter``: the seed's own example answer reports
    ``"processing": 0.3278`` s (the order is loaded and saved whole), so a binding counts
    against the per-method operating budget and about 1,450 fit in 480 s per 10 minutes.
    """

    call: float = 0.002
    page: float = 0.03
    per_offset_row: float = 2e-7
    count: float = 0.01
    per_counted_row: float = 5e-7
    get: float = 0.01
    add: float = 0.05
    #: ``sale.order.get`` loads the whole order (basket, payments, shipments, properties):
    #: a heavy call, over the 0.1 s from which calls count against the operating budget
    order_get: float = 0.15
    bind: float = 0.3278

    def list_cost(self, offset: int, total: int | None) -> float:
        """Seconds for one list page at ``offset``; ``total`` is None when not counted."""
        cost = self.call + self.page + self.per_offset_row * offset
        if total is not None:
            cost += self.count + self.per_counted_row * total
        return cost


#: every cost zero, whatever fields ``Latency`` grows (named, so a new field cannot keep its
#: default here by accident)
ZERO_LATENCY = Latency(**{f.name: 0.0 for f in fields(Latency)})


def param(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Read a top-level parameter case-insensitively (``filter``, ``FILTER``, ``Filter``).

    Legacy CRM resolves ``arFilter``-style aliases too; engine controllers are looser than
    documented in practice, so one lenient lookup serves both.
    """
    if name in params:
        return params[name]
    low = name.lower()
    for key, value in params.items():
        k = str(key).lower()
        if k == low or k == "ar" + low:
            return value
    return default
