"""The sandbox database: its tables and indexes, and how a connection to it is opened.

The CRM's tables live in the ``main`` database and the online store's in an attached one,
``sale``: a big seed builds the two at the same time (see :meth:`.store.Store.load_all`).
Queries name tables without a schema; SQLite finds each in the database that has it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from .fields import COMPANY, CONTACT, DEAL, ORDER, PROPERTY_VALUE, SQL_TYPES, Entity

__all__ = ["CRM_TABLES", "SALE_TABLES", "build_indexes", "connect", "create_tables", "tune"]

CRM_TABLES = ("deals", "contacts", "companies", "fm", "bindings")
SALE_TABLES = ("orders", "order_props", "order_clients", "order_nested")


def _entity_columns(ent: Entity) -> str:
    return ", ".join(f'"{f.name}" {SQL_TYPES[f.kind]}' + (" PRIMARY KEY" if f.name == ent.pk
                                                           else "") for f in ent.columns)


_TABLES = {ent.table: _entity_columns(ent) for ent in (DEAL, CONTACT, COMPANY, ORDER,
                                                       PROPERTY_VALUE)}
_TABLES.update({
    "bindings": '"orderId" INTEGER PRIMARY KEY, "ownerId" INTEGER, "ownerTypeId" INTEGER',
    "order_clients": 'id INTEGER PRIMARY KEY, "orderId" INTEGER, "entityTypeId" INTEGER, '
                     '"entityId" INTEGER, "isPrimary" TEXT, "roleId" INTEGER, sort INTEGER',
    "order_nested": '"orderId" INTEGER PRIMARY KEY, body TEXT',
    "fm": "id INTEGER PRIMARY KEY, entity TEXT, element_id INTEGER, type_id TEXT, "
          "value_type TEXT, value TEXT",
})

# index name -> indexed columns, per table: the filterable fields, and the look-ups of the
# multifields, clients, properties and bindings of a record
_INDEXES: dict[str, list[tuple[str, str]]] = {
    ent.table: [(f"ix_{ent.table}_{f.name}", f'"{f.name}"') for f in ent.columns if f.index]
    for ent in (DEAL, CONTACT, COMPANY, ORDER, PROPERTY_VALUE)}
_INDEXES.update({
    "bindings": [("ix_bind_owner", '"ownerId", "ownerTypeId"')],
    "order_clients": [("ix_clients_order", '"orderId"')],
    "fm": [("ix_fm_el", "entity, element_id"), ("ix_fm_val", "entity, type_id, value")],
    "order_nested": [],
})


def tune(db: sqlite3.Connection, schema: str = "main") -> None:
    """No journal, no syncs: the database lives and dies in memory with the sandbox."""
    db.execute(f"PRAGMA {schema}.journal_mode=OFF")
    db.execute(f"PRAGMA {schema}.synchronous=OFF")


def connect() -> sqlite3.Connection:
    """A new in-memory database, usable from any thread (callers serialise access)."""
    db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    db.create_function("ulower", 1, lambda s: s.lower() if isinstance(s, str) else s,
                       deterministic=True)
    tune(db)
    return db


def create_tables(db: sqlite3.Connection, schema: str, tables: Iterable[str]) -> None:
    """Create ``tables`` in the database ``schema``."""
    for table in tables:
        db.execute(f"CREATE TABLE {schema}.{table} ({_TABLES[table]})")


def build_indexes(db: sqlite3.Connection, schema: str, tables: Iterable[str]) -> None:
    """Create the indexes of ``tables`` (in ``schema``) that are missing; refresh statistics.

    Done after bulk loads, which is faster than keeping indexes up to date row by row.
    """
    for table in tables:
        for name, columns in _INDEXES[table]:
            db.execute(f"CREATE INDEX IF NOT EXISTS {schema}.{name} ON {table} ({columns})")
    # statistics from a sample: the planner needs their shape, not exact counts
    db.execute("PRAGMA analysis_limit=1000")
    db.execute(f"ANALYZE {schema}")
