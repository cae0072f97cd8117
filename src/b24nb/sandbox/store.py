"""The portal's database: one in-memory SQLite connection behind a lock.

SQLite gives the sandbox real indexes, so the ``>ID`` walk the docs recommend answers a page
in well under a millisecond at 200,000 rows, while an OFFSET deep into a big table costs what
it costs on the real server (the slow path the docs warn about). Records are stored once, in
canonical form; each method formats them in its own value style on the way out.

Seeds are loaded a column at a time (:mod:`.bulk`, :mod:`.defaults`, :mod:`.inserts`): the
records' fields become columns, missing ones get a new record's defaults, and each table is
written with as few bound values as it takes. The tables are laid out in :mod:`.schema`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from . import schema
from .bulk import Column, columns_of, keys_of, n_rows, seq_ids, transpose
from .defaults import DEFAULTS
from .fields import COMPANY, CONTACT, DEAL, ORDER, PROPERTY_VALUE, Entity
from .inserts import insert
from .php import php_int

__all__ = ["PROPERTY_CODES", "Store", "prop_meta"]

#: Order property ids for the individual person type: the customer's name, e-mail and phone
#: live in order properties, not in the order (research §10).
PROPERTY_CODES: dict[str, tuple[int, str]] = {
    "NAME": (1, "Ф.И.О."), "FIO": (1, "Ф.И.О."), "EMAIL": (2, "E-Mail"), "PHONE": (3, "Телефон"),
    "ZIP": (4, "Индекс"), "CITY": (5, "Город"), "LOCATION": (6, "Местоположение"),
    "ADDRESS": (7, "Адрес доставки"), "COMPANY": (8, "Название компании"),
}
FM_TYPES = {"PHONE": "WORK", "EMAIL": "WORK", "WEB": "WORK", "IM": "TELEGRAM"}


def _ensure_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return list(value.values()) if all(str(k).isdigit() for k in value) else [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _as_list(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return records if isinstance(records, list) else list(records)


_ENTITIES = {e.table: e for e in (DEAL, CONTACT, COMPANY, ORDER)}
_CHILDREN = {  # table → (verb, columns) of the rows stored beside the entities
    "fm": ("INSERT", ("id", "entity", "element_id", "type_id", "value_type", "value")),
    "order_clients": ("INSERT", ("id", "orderId", "entityTypeId", "entityId", "isPrimary",
                                 "roleId", "sort")),
    "order_props": ("INSERT", tuple(f.name for f in PROPERTY_VALUE.columns)),
    "order_nested": ("INSERT OR REPLACE", ("orderId", "body")),
    "bindings": ("INSERT OR REPLACE", ("orderId", "ownerId", "ownerTypeId")),
}
_PROP_COLUMNS = ("orderId", "orderPropsId", "orderPropsXmlId", "code", "name", "value")
_CLIENT_COLUMNS = ("orderId", "entityTypeId", "entityId", "isPrimary", "roleId", "sort")
_NESTED = ("basketItems", "payments", "shipments")
_ID_CACHE_SIZE = 8  # ordered-id lists kept for offset paging (a few concurrent listings)


class _Worker(threading.Thread):
    """Runs ``fn(*args)`` in a thread; ``join`` re-raises what it raised."""

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        super().__init__(name="b24nb-sandbox-index", daemon=True)
        self._call = (fn, args)
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        fn, args = self._call
        try:
            fn(*args)
        except BaseException as exc:  # handed to the joining thread
            self._error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self._error is not None:
            raise self._error


def _next_id(db: sqlite3.Connection, table: str, pk: str) -> int:
    cur = db.execute(f'SELECT COALESCE(MAX("{pk}"), 0) + 1 FROM {table}')
    return int(cur.fetchone()[0])


def _int(value: Any) -> int:
    return value if type(value) is int else php_int(value)


def _clients(recs: list[Mapping[str, Any]], ids: list[int]) -> list[tuple]:
    """``order_clients`` rows of the orders' ``clients`` (the CRM contact and company)."""
    rows = []
    for rec, oid in zip(recs, ids, strict=True):
        for i, cl in enumerate(_ensure_list(rec.get("clients"))):
            rows.append((oid, _int(cl.get("entityTypeId", 3)), _int(cl.get("entityId")),
                         str(cl.get("isPrimary", "Y" if i == 0 else "N")), cl.get("roleId"),
                         _int(cl.get("sort", 100 * (i + 1)))))
    return rows


def prop_meta(code: Any) -> tuple[int, str, str, str]:
    """``(orderPropsId, orderPropsXmlId, code, name)`` of an order property given by code."""
    code = str(code).upper()
    pid, name = PROPERTY_CODES.get(code) or (100 + len(code), code.title())
    return pid, f"bx_prop_{code.lower()}", code, name


def _properties(recs: list[Mapping[str, Any]], ids: list[int]) -> tuple[list[tuple], int]:
    """``order_props`` rows (no ids) and how many each order has, if all have as many."""
    rows: list[tuple] = []
    counts: set[int] = set()
    metas: dict[Any, tuple[int, str, str, str]] = {}
    for rec, oid in zip(recs, ids, strict=True):
        props = rec.get("properties") or {}
        if isinstance(props, Mapping):  # {"NAME": …, "EMAIL": …}: the seed form
            for code, value in props.items():
                meta = metas.get(code) or metas.setdefault(code, prop_meta(code))
                rows.append((oid, *meta, value if value is None or type(value) is str
                             else str(value)))
        else:
            props = list(props)
            for p in props:
                pid, xml_id, code, name = prop_meta(p.get("code", ""))
                value = p.get("value")
                rows.append((oid, _int(p.get("orderPropsId", pid)), xml_id, code,
                             p.get("name", name), None if value is None else str(value)))
        counts.add(len(props))
    return rows, counts.pop() if len(counts) == 1 else 1


class Store:
    """Tables for deals, contacts, companies, orders (+ properties, clients) and bindings."""

    def __init__(self, clock_now: Any) -> None:
        self._now = clock_now
        self.lock = threading.RLock()
        self._id_cache: dict[tuple, list[int]] = {}  # see page()
        self.db = schema.connect()
        self.db.execute("ATTACH ':memory:' AS sale")
        schema.tune(self.db, "sale")
        schema.create_tables(self.db, "main", schema.CRM_TABLES)
        schema.create_tables(self.db, "sale", schema.SALE_TABLES)

    # ------------------------------------------------------------------ seeding
    def load(self, table: str, cols: Mapping[str, Column], n: int | None = None,
             period: int = 1) -> list[int]:
        """Insert ``n`` rows given as columns in storage form (see :mod:`.bulk`).

        For ``deals``, ``contacts``, ``companies`` and ``orders``: empty IDs are numbered on
        and missing fields get a new record's defaults; returns the IDs. Other tables
        (``fm``, ``order_clients``, ``order_props``, ``order_nested``, ``bindings``) take
        the rows as given (an absent ``id`` is numbered by SQLite), in groups of ``period``
        rows (see :func:`.inserts.insert`). This is the fast path of big seeds: the demo
        portal is loaded this way without building a dict per record.
        """
        with self.lock:
            return self._load(self.db, table, cols, n, period)

    def _load(self, db: sqlite3.Connection, table: str, cols: Mapping[str, Column],
              n: int | None = None, period: int = 1) -> list[int]:
        n = n_rows(cols) if n is None else n
        ent = _ENTITIES.get(table)
        if ent is None:
            verb, names = _CHILDREN[table]
            insert(db, verb, table, names, cols, n, period)
            return []
        cols = dict(cols)
        first = _next_id(db, table, ent.pk)
        ids = cols[ent.pk] = seq_ids(cols.get(ent.pk), n, first)
        DEFAULTS[table](cols, ids, self._now())
        if n > 1 and ids[0] == first and ids == list(range(first, first + n)):
            cols[ent.pk] = None  # SQLite numbers on from the largest ID: the same IDs, unbound
        insert(db, "INSERT OR REPLACE", table, [f.name for f in ent.columns], cols, n)
        return ids

    def load_all(self, tables: Iterable[tuple[str, Mapping[str, Column], int]],
                 meanwhile: Callable[[], object] = lambda: None) -> None:
        """Load and index a big seed (``(table, columns, period)``) into an empty store.

        SQLite builds indexes without holding the GIL, so the work is overlapped: the CRM
        tables are loaded and indexed in a thread while the sale tables are loaded into a
        second database, which is then indexed in another thread and attached as ``sale``.
        ``meanwhile`` runs in this thread while both are indexed: give it the freeing of
        the seed (this method keeps no reference to the columns by then).
        """
        tables = list(tables)
        parts = {sale: [t for t in tables if (t[0] in schema.SALE_TABLES) == sale]
                 for sale in (False, True)}
        del tables
        with self.lock:
            if any(self.db.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()
                   for t in schema.CRM_TABLES + schema.SALE_TABLES):
                raise ValueError("load_all() seeds an empty store")
            side = schema.connect()
            schema.create_tables(side, "main", schema.SALE_TABLES)
            workers: list[_Worker] = []
            try:
                for is_sale, db in ((False, self.db), (True, side)):
                    while parts[is_sale]:
                        table, cols, period = parts[is_sale].pop(0)
                        self._load(db, table, cols, None, period)
                        del cols  # the caller frees the seed while the indexes are built
                    names = schema.SALE_TABLES if is_sale else schema.CRM_TABLES
                    workers.append(_Worker(schema.build_indexes, db, "main", names))
                meanwhile()
            finally:
                for worker in workers:
                    worker.join()
            self.db.deserialize(side.serialize(), name="sale")
            side.close()
            schema.tune(self.db, "sale")

    def add_people(self, ent: Entity, records: Iterable[Mapping[str, Any]]) -> list[int]:
        """Insert contacts or companies with their PHONE/EMAIL/… multifields."""
        recs = _as_list(records)
        keys = keys_of(recs)
        cols = columns_of(ent, recs, keys)
        with self.lock:
            first = _next_id(self.db, ent.table, "ID")
            ids = cols["ID"] = seq_ids(cols.get("ID"), len(recs), first)
            fm_rows: list[tuple] = []
            cols["HAS_PHONE"] = cols["HAS_EMAIL"] = "N"  # from the multifields, never given
            for code, vtype in FM_TYPES.items():
                if code not in keys:
                    continue
                has = ["N"] * len(recs)
                for i, (rec, eid) in enumerate(zip(recs, ids, strict=True)):
                    items = _ensure_list(rec.get(code))
                    if items:
                        has[i] = "Y"
                    for item in items:
                        if isinstance(item, Mapping):
                            fm_rows.append((eid, i, code, str(item.get("VALUE_TYPE") or vtype),
                                            str(item.get("VALUE", ""))))
                        else:
                            fm_rows.append((eid, i, code, vtype, str(item)))
                if code in ("PHONE", "EMAIL"):
                    cols[f"HAS_{code}"] = has
            self.load(ent.table, cols, len(recs))
            fm_rows.sort(key=itemgetter(1))  # stable: a record's PHONE, EMAIL, WEB, IM rows
            fm = transpose(("element_id", "row", "type_id", "value_type", "value"), fm_rows)
            self.load("fm", {"entity": ent.name, **fm}, len(fm_rows))
        return ids

    def add_deals(self, records: Iterable[Mapping[str, Any]]) -> list[int]:
        """Insert deals; missing fields get the defaults a new CRM deal gets."""
        recs = _as_list(records)
        return self.load("deals", columns_of(DEAL, recs), len(recs))

    def add_orders(self, records: Iterable[Mapping[str, Any]]) -> list[int]:
        """Insert orders with their clients (CRM links) and properties (customer data)."""
        recs = _as_list(records)
        keys = keys_of(recs)
        cols = columns_of(ORDER, recs, keys)
        with self.lock:
            ids = cols["id"] = seq_ids(cols.get("id"), len(recs), _next_id(self.db, "orders", "id"))
            self.load("orders", cols, len(recs))
            if "clients" in keys:
                self._load_rows("order_clients", _CLIENT_COLUMNS, _clients(recs, ids))
            if "properties" in keys:
                props, per_order = _properties(recs, ids)
                # ids left to SQLite: it numbers on from the largest, as the server does
                self.load("order_props", {**transpose(_PROP_COLUMNS, props), "multiple": "N",
                                          "type": "STRING"}, len(props), period=per_order)
            nested = [(oid, json.dumps(extra, default=str)) for rec, oid in zip(
                recs, ids, strict=True) if (extra := {k: rec[k] for k in _NESTED if k in rec})]
            self._load_rows("order_nested", ("orderId", "body"), nested)
        return ids

    def _load_rows(self, table: str, names: tuple[str, ...], rows: list[tuple]) -> None:
        self.load(table, transpose(names, rows), len(rows))

    def add_bindings(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Store order → owner bindings; a second owner for an order replaces the first."""
        rows = [(php_int(r.get("orderId")), php_int(r.get("ownerId")),
                 php_int(r.get("ownerTypeId", 2))) for r in records]
        self._load_rows("bindings", ("orderId", "ownerId", "ownerTypeId"), rows)

    def create_indexes(self) -> None:
        """Index filterable columns; done after bulk loads because that is faster."""
        with self.lock:
            schema.build_indexes(self.db, "main", schema.CRM_TABLES)
            schema.build_indexes(self.db, "sale", schema.SALE_TABLES)

    # ------------------------------------------------------------------ reading
    def select(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run a read query under the lock."""
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write under the lock; returns the affected row count."""
        with self.lock:
            return self.db.execute(sql, params).rowcount

    def page(self, ent: Entity, where: str, params: Sequence[Any], order_sql: str,
             offset: int, limit: int, count: bool, columns: Sequence[str] | None = None
             ) -> tuple[list[tuple], int | None]:
        """One page of rows (all columns, or just ``columns``) and, if asked, the total.

        Offset pages with a count (``start`` ≥ 0) are cut from the query's ordered row ids,
        computed once per (query, table state) and cached: SQLite would otherwise step
        through every row before the offset and count the whole match again for each page,
        under the store lock — real CPU that serialises concurrent requests and makes deep
        pages cost what our SQLite costs, not what the latency model says they cost on the
        portal (:class:`~b24nb.sandbox.api.Latency` ``per_offset_row``/``per_counted_row``).
        The cache is keyed by the connection's ``total_changes``, so any write made since
        is seen.
        """
        what = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        with self.lock:
            if not count:
                rows = self.db.execute(
                    f"SELECT {what} FROM {ent.table} WHERE {where} ORDER BY {order_sql} "
                    f"LIMIT {int(limit)} OFFSET {int(offset)}", params).fetchall()
                return rows, None
            ids = self._ordered_ids(ent.table, where, params, order_sql)
            chunk = ids[int(offset):int(offset) + int(limit)]
            if not chunk:
                return [], len(ids)
            marks = ",".join("?" * len(chunk))
            found = self.db.execute(f"SELECT {what}, rowid FROM {ent.table} "
                                    f"WHERE rowid IN ({marks})", chunk).fetchall()
        by_id = {r[-1]: r[:-1] for r in found}
        return [by_id[i] for i in chunk if i in by_id], len(ids)

    def _ordered_ids(self, table: str, where: str, params: Sequence[Any], order_sql: str
                     ) -> list[int]:
        """Row ids matching ``where`` in ``order_sql`` order (cached; caller holds the lock)."""
        key = (table, where, tuple(map(repr, params)), order_sql, self.db.total_changes)
        ids = self._id_cache.get(key)
        if ids is None:
            ids = [r[0] for r in self.db.execute(
                f"SELECT rowid FROM {table} WHERE {where} ORDER BY {order_sql}", params)]
            if len(self._id_cache) >= _ID_CACHE_SIZE:
                self._id_cache.pop(next(iter(self._id_cache)))
            self._id_cache[key] = ids
        return ids

    def edit(self, table: str, ids: Sequence[int], values: Mapping[str, Any]) -> int:
        """Another user's edit: set columns of these rows and stamp their modified time.

        ``DATE_MODIFY`` (CRM) or ``dateUpdate`` (orders) becomes the portal's now, as the
        server does on every update; returns the rows changed.
        """
        ent = _ENTITIES[table]
        stamp = "dateUpdate" if table == "orders" else "DATE_MODIFY"
        sets = {**{ent.lookup(k).col if ent.lookup(k) else k: v for k, v in values.items()},
                stamp: self._now()}
        assign = ", ".join(f'"{c}" = ?' for c in sets)
        marks = ",".join("?" * len(ids))
        with self.lock:
            return self.db.execute(
                f'UPDATE {table} SET {assign} WHERE "{ent.pk_column}" IN ({marks})',
                [*sets.values(), *ids]).rowcount

    def delete(self, table: str, ids: Sequence[int]) -> int:
        """Delete rows (an order with its clients, properties and binding); returns the count."""
        ent = _ENTITIES[table]
        marks = ",".join("?" * len(ids))
        with self.lock:
            n = self.db.execute(f'DELETE FROM {table} WHERE "{ent.pk_column}" IN ({marks})',
                                list(ids)).rowcount
            if table == "orders":
                for child in ("order_clients", "order_props", "order_nested", "bindings"):
                    self.db.execute(f'DELETE FROM {child} WHERE "orderId" IN ({marks})',
                                    list(ids))
        return n

    def multifields(self, entity: str, ids: Sequence[int]) -> dict[int, dict[str, list]]:
        """PHONE/EMAIL/… of the given elements, in the API's shape, grouped by element."""
        out: dict[int, dict[str, list]] = {}
        if not ids:
            return out
        marks = ",".join("?" * len(ids))
        for fid, el, type_id, vtype, value in self.select(
                f"SELECT id, element_id, type_id, value_type, value FROM fm WHERE entity = ? "
                f"AND element_id IN ({marks}) ORDER BY id", [entity, *ids]):
            out.setdefault(el, {}).setdefault(type_id, []).append(
                {"ID": str(fid), "VALUE_TYPE": vtype, "VALUE": value, "TYPE_ID": type_id})
        return out

    def count(self, table: str) -> int:
        """Rows in a table (for stats and tests)."""
        return int(self.select(f"SELECT COUNT(*) FROM {table}")[0][0])
