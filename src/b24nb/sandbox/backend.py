"""The emulated portal behind the HTTP layer: dispatch, limits, timing, demo helpers.

``Backend.call`` runs one method the way the server's REST layer does: operating-time check
(429), handler, modelled latency, operating-time bookkeeping and the ``time`` object.
``batch`` runs its commands through the same path, so every command is counted, limited and
timed against its own method.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from . import crm, deal_update, invoices, items, sale
from .api import ZERO_LATENCY, Answer, ApiError, Latency
from .batch import run_batch
from .faults import Faults
from .fields import CONTACT
from .invoice_fields import create_tables as create_invoice_tables
from .limits import PLANS, Clock, LeakyBucket, OperatingBudget, Stats
from .oauth import OAuth
from .php import format_datetime
from .store import Store

__all__ = ["Backend"]

Handler = Callable[[Any, Mapping[str, Any]], Answer]

#: how a portal refuses a method it does not publish, or one the webhook may not call
_REFUSALS = {"ERROR_METHOD_NOT_FOUND": ("ERROR_METHOD_NOT_FOUND", "Method not found!", 404),
             "ACCESS_DENIED": ("ACCESS_DENIED", "Access denied!", 403)}


def _profile(ctx: Any, params: Mapping[str, Any]) -> Answer:
    return Answer({"ID": "1", "ADMIN": True, "NAME": "Sandbox", "LAST_NAME": "Admin",
                   "PERSONAL_GENDER": "", "PERSONAL_PHOTO": None, "TIME_ZONE": "Europe/Moscow",
                   "TIME_ZONE_OFFSET": 10800}, cost=ctx.latency.call)


def _scope(ctx: Any, params: Mapping[str, Any]) -> Answer:
    return Answer(["crm", "sale", "user"], cost=ctx.latency.call)


def _server_time(ctx: Any, params: Mapping[str, Any]) -> Answer:
    return Answer(format_datetime(ctx.clock.now()), cost=ctx.latency.call)


class Backend:
    """State and behaviour of one emulated portal."""

    def __init__(self, *, clock: Clock, latency: Latency | bool, limits: bool, plan: str,
                 operating_limit: float, auto_deals: bool, base_url: Callable[[], str]) -> None:
        if plan not in PLANS:
            raise ValueError(f"plan must be one of {sorted(PLANS)}")
        self.clock = clock
        if latency is True:
            latency = Latency()
        self.latency: Latency = latency or ZERO_LATENCY
        self.limits = limits
        self.plan = plan
        self.bucket = LeakyBucket(*PLANS[plan], clock)
        self.operating = OperatingBudget(operating_limit, clock)
        self.auto_deals = auto_deals
        self.store = Store(clock.now)
        create_invoice_tables(self.store.db)
        self.stats = Stats()
        self.faults = Faults()
        self.refused: dict[str, str] = {}  # method -> a key of _REFUSALS
        self.oauth = OAuth(clock.now, base_url)
        self.handlers: dict[str, Handler] = {**crm.HANDLERS, **sale.HANDLERS, **items.HANDLERS,
                                             **invoices.HANDLERS, **deal_update.HANDLERS,
                                             "profile": _profile, "user.current": _profile,
                                             "scope": _scope, "server.time": _server_time}

    # ------------------------------------------------------------------ timing
    def timing(self, start: float, processing: float, key: tuple[str, str]) -> dict[str, Any]:
        """The ``time`` object of a call that started at ``start`` (virtual seconds)."""
        finish = start + processing + 1e-5
        out: dict[str, Any] = {"start": round(start, 6), "finish": round(finish, 6),
                               "duration": round(finish - start, 6),
                               "processing": round(processing, 6),
                               "date_start": format_datetime(start),
                               "date_finish": format_datetime(finish)}
        operating, reset_at = self.operating.state(key)
        if reset_at is not None:
            out["operating_reset_at"] = reset_at
        out["operating"] = round(operating, 6)
        return out

    # ------------------------------------------------------------------ calls
    def call(self, method: str, params: Mapping[str, Any], identity: str, start: float
             ) -> tuple[Answer, dict[str, Any]]:
        """Run one (non-batch) method starting at virtual time ``start``; raises ApiError."""
        handler = self.handlers.get(method)
        refusal = self.refused.get(method)
        if refusal is not None:
            raise ApiError(*_REFUSALS[refusal])
        if handler is None:
            raise ApiError("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
        key = (identity, method)
        if (self.limits and self.operating.blocked(key)) or self.faults.draw_call(method):
            self.stats.add("refused_429")
            raise ApiError("OPERATION_TIME_LIMIT",
                           "Method is blocked due to operation time limit.", 429)
        # the handler's own CPU time, not its wall time: waiting for the interpreter lock
        # behind other requests is this emulator's artefact, not server time a portal counts
        t0 = time.thread_time()
        try:
            answer = handler(self, params)
        finally:
            self.stats.call(method)
        processing = answer.cost + (time.thread_time() - t0)
        self.operating.record(key, processing, start)
        return answer, self.timing(start, processing, key)

    def run(self, method: str, params: Mapping[str, Any], identity: str
            ) -> tuple[int, dict[str, Any], float]:
        """Answer one HTTP-level call: ``(status, body, virtual seconds to wait first)``."""
        start = self.clock.now()
        try:
            if method == "batch":
                self.stats.call("batch")
                cursor = [start]

                def one(sub: str, sub_params: dict[str, Any]) -> tuple[Answer, dict]:
                    answer, timing = self.call(sub, sub_params, identity, cursor[0])
                    cursor[0] = timing["finish"]
                    return answer, timing

                result = run_batch(params, one)
                elapsed = cursor[0] - start
                return 200, {"result": result, "time": self.timing(
                    start, elapsed, (identity, "batch"))}, self._rest(start, elapsed)
            answer, timing = self.call(method, params, identity, start)
        except ApiError as err:
            return err.status, err.body(), 0.0
        body: dict[str, Any] = {"result": answer.result}
        if answer.next is not None:
            body["next"] = answer.next
        if answer.total is not None:
            body["total"] = answer.total
        body["time"] = timing
        return 200, body, self._rest(start, timing["processing"])

    def _rest(self, start: float, processing: float) -> float:
        """Virtual seconds still to wait so that the answer leaves ``processing`` after ``start``.

        Why not the whole ``processing``: it already includes the real time the handler ran,
        and that time has passed. Waiting it again would make every request cost its compute
        twice, and since compute is serialised by the interpreter lock while waits overlap,
        it would make concurrent requests look more serial than on a real portal, where each
        PHP worker runs on its own.
        """
        return max(0.0, processing - (self.clock.now() - start))

    # ------------------------------------------------------------------ helpers
    def create_order_deal(self, oid: int) -> int:
        """Do what a real portal does on ``sale.order.add``: a deal (and contact) for it."""
        fields = sale.deal_for_order(self, oid)
        props = dict(self.store.select(
            'SELECT code, value FROM order_props WHERE "orderId" = ?', [oid]))
        has_contact = self.store.select(
            'SELECT 1 FROM order_clients WHERE "orderId" = ? AND "entityTypeId" = 3', [oid])
        contact_id = None
        name = props.get("NAME") or props.get("FIO")
        if not has_contact and (name or props.get("EMAIL") or props.get("PHONE")):
            first, _, last = (name or "").partition(" ")
            contact = {"NAME": first, "LAST_NAME": last}
            if props.get("EMAIL"):
                contact["EMAIL"] = [{"VALUE": props["EMAIL"]}]
            if props.get("PHONE"):
                contact["PHONE"] = [{"VALUE": props["PHONE"]}]
            contact_id = self.store.add_people(CONTACT, [contact])[0]
            self.store.execute('INSERT INTO order_clients ("orderId", "entityTypeId", '
                               '"entityId", "isPrimary", sort) VALUES (?, 3, ?, \'Y\', 100)',
                               [oid, contact_id])
            fields["CONTACT_ID"] = contact_id
        deal_id = self.store.add_deals([fields])[0]
        self.store.add_bindings([{"orderId": oid, "ownerId": deal_id, "ownerTypeId": 2}])
        return deal_id
