"""One write of a run: what ``bind``/``unbind`` send for an order, and how to read it back.

Why a module of its own: the planner makes writes, the run loop schedules them and the sender
sends them; each needs the type, none should need the others to have it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b24nb.binding.validate import Item

__all__ = ["Owner", "Write"]

Owner = tuple[int, int]


@dataclass
class Write:
    """One write: ``bind``/``restore`` send ``crm.orderentity.add``, ``unbind`` deletes."""

    item: Item
    action: str
    owner: Owner
    prev: Owner | None
    tries: int = 0
    send_id: int | None = field(default=None, compare=False)

    @property
    def method(self) -> str:
        return (
            "crm.orderentity.deleteByFilter" if self.action == "unbind" else "crm.orderentity.add"
        )

    @property
    def params(self) -> dict[str, Any]:
        oid, tid = self.owner
        return {"fields": {"orderId": self.item.order_id, "ownerId": oid, "ownerTypeId": tid}}

    def journal_row(self) -> dict[str, Any]:
        prev = self.prev or (None, None)
        return {
            "action": self.action,
            "method": self.method,
            "pair_id": _pid(self.item.pair_id),
            "order_id": self.item.order_id,
            "owner_id": self.owner[0],
            "owner_type_id": self.owner[1],
            "prev_owner_id": prev[0],
            "prev_owner_type_id": prev[1],
        }

    @property
    def success(self) -> str:
        if self.action == "bind":
            return "rebound" if self.prev is not None else "bound"
        return "unbound"

    def applied(self, now: Owner | None) -> bool:
        """Does the portal's current owner ``now`` show this write applied?"""
        return now == self.owner if self.action != "unbind" else now != self.owner


def _pid(pair_id: Any) -> int | None:
    try:
        return int(pair_id)
    except (TypeError, ValueError):
        return None


