"""Helpers for tests: small hand-made portals and a raw HTTP caller for the sandbox.

These exist so tests can state exactly what the portal holds (instead of depending on the
demo generator) and can talk to the sandbox the way any client would — real HTTP on
127.0.0.1, no mocks of our own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

__all__ = ["call", "tiny_records", "tiny_sandbox"]

_JAN1 = datetime(2025, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=3)))


def tiny_records(n_deals: int = 120, n_orders: int = 60) -> dict[str, list[dict[str, Any]]]:
    """A small, fully explicit portal: deals, contacts, companies, orders and bindings.

    Deal ``i`` has ``OPPORTUNITY = 100 * i``, currency RUB for even and USD for odd ``i``,
    contact ``i % 3 + 1`` and ``DATE_CREATE`` on day ``i`` of 2025 (UTC+3). Order ``j`` has
    ``price = 100 * j``, contact client ``j % 3 + 1``; orders 1..10 are bound to deal ``j``.
    """
    contacts = [
        {"ID": 1, "NAME": "Иван", "LAST_NAME": "Петров", "EMAIL": [{"VALUE": "ivan@example.ru"}],
         "PHONE": [{"VALUE": "+7 (900) 111-22-33"}]},
        {"ID": 2, "NAME": "Anna", "LAST_NAME": "Smith", "EMAIL": [{"VALUE": "anna@example.com"},
                                                                  {"VALUE": "a.smith@work.com"}]},
        {"ID": 3, "NAME": "Олег", "LAST_NAME": "Сидоров"},
    ]
    companies = [{"ID": 1, "TITLE": "ООО Ромашка", "PHONE": [{"VALUE": "+7 495 000-00-00"}]},
                 {"ID": 2, "TITLE": "Acme Ltd"}]
    deals = [{"ID": i, "TITLE": f"Deal {i}", "OPPORTUNITY": 100 * i,
              "CURRENCY_ID": "RUB" if i % 2 == 0 else "USD", "CONTACT_ID": i % 3 + 1,
              "COMPANY_ID": 1 if i % 10 == 0 else None,
              "DATE_CREATE": (_JAN1 + timedelta(days=i - 1)).isoformat(),
              "ASSIGNED_BY_ID": 1 + i % 4, "STAGE_ID": "WON" if i % 5 == 0 else "NEW"}
             for i in range(1, n_deals + 1)]
    orders = [{"id": j, "accountNumber": f"A-{j:04d}", "price": 100 * j,
               "currency": "RUB" if j % 2 == 0 else "USD",
               "dateInsert": f"2025-02-{1 + (j - 1) % 28:02d}T09:00:00+03:00", "userId": 1,
               "responsibleId": 2, "statusId": "N", "payed": j % 2 == 0, "canceled": False,
               "clients": [{"entityTypeId": 3, "entityId": j % 3 + 1}],
               "properties": {"NAME": f"Customer {j}", "EMAIL": f"c{j}@example.org",
                              "PHONE": f"+7 900 000 {j:04d}"}}
              for j in range(1, n_orders + 1)]
    bindings = [{"orderId": j, "ownerId": j, "ownerTypeId": 2} for j in range(1, 11)]
    return {"deals": deals, "contacts": contacts, "companies": companies, "orders": orders,
            "bindings": bindings}


def call(url: str, method: str, params: dict[str, Any] | None = None, *,
         session: requests.Session | None = None, timeout: float = 10.0) -> requests.Response:
    """POST ``params`` as JSON to ``url + method`` and return the raw response."""
    poster = session or requests
    return poster.post(url + method, json=params or {}, timeout=timeout)


def tiny_sandbox(**options: Any) -> Any:
    """A (not yet started) sandbox holding :func:`tiny_records`; limits and latency off.

    Use as ``with tiny_sandbox() as sb:``; ``options`` override Sandbox arguments.
    """
    from b24nb.sandbox import Sandbox

    kwargs: dict[str, Any] = {"demo": False, "limits": False, "latency": False,
                              **tiny_records()}
    kwargs.update(options)
    return Sandbox(**kwargs)


@pytest.fixture
def sb() -> Iterator[Any]:
    """Fixture: a started :func:`tiny_sandbox` (import it into a test module to use it)."""
    with tiny_sandbox() as portal:
        yield portal


def binding_disagreements(sandbox: Any, pairs: Any, journal: Any, *,
                          rows: Any = None) -> list[str]:
    """What the portal, the pairs frame and the journal disagree on (empty: they agree).

    For every row of ``pairs`` (or the labels ``rows``) that ``bind``/``unbind`` logged:
    the frame's ``current_owner_*`` is the owner the sandbox holds for that order, and its
    ``bind_status`` is the last status the journal recorded for that pair and order.
    Used by the guard tests and ``benchmarks/soak_bind.py``.
    """
    import pandas as pd

    portal = {b["orderId"]: (b["ownerId"], b["ownerTypeId"]) for b in sandbox.bindings()}
    h = journal.frame()
    h = h[h["status"].notna() & h["event"].isin(["answer", "settle", "note"])]
    last = {(int(p), int(o)): s for p, o, s in
            zip(h["pair_id"], h["order_id"], h["status"], strict=True) if pd.notna(p)}
    out: list[str] = []
    frame = pairs if rows is None else pairs.loc[rows]
    for pid, row in frame[frame["bind_status"].notna()].iterrows():
        oid = int(row["order_id"])
        have = (None if pd.isna(row["current_owner_id"])
                else (int(row["current_owner_id"]), int(row["current_owner_type_id"])))
        if have != portal.get(oid):
            out.append(f"pair {pid}: frame shows owner {have}, portal {portal.get(oid)}")
        status = row["bind_status"]
        if status not in ("dry_run",) and last.get((int(pid), oid)) != status:
            out.append(f"pair {pid}: frame says {status}, journal "
                       f"{last.get((int(pid), oid))}")
    return out


def bind_pairs(orders: Any, deal_of: Any = None, *, owner_type_id: int = 2) -> Any:
    """A minimal pairs frame selecting ``order → deal_of(order)`` for each order (all ticked).

    ``deal_of`` defaults to the identity (order ``i`` → deal ``i``); ``pair_id`` is 0..n-1.
    """
    import pandas as pd

    orders = [int(o) for o in orders]
    deal_of = deal_of or (lambda o: o)
    n = len(orders)
    return pd.DataFrame(
        {"deal_id": pd.array([deal_of(o) for o in orders], dtype="Int64"),
         "order_id": pd.array(orders, dtype="Int64"),
         "owner_type_id": pd.array([owner_type_id] * n, dtype="Int64"),
         "current_owner_id": pd.array([None] * n, dtype="Int64"),
         "current_owner_type_id": pd.array([None] * n, dtype="Int64"),
         "selected": pd.array([True] * n, dtype="boolean")},
        index=pd.Index(range(n), name="pair_id"))
