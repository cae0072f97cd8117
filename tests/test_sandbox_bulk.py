"""The column-wise seed loader stores exactly what a row-by-row load would.

Big seeds take shortcuts (literals for one-valued columns, several rows per statement,
IDs left to SQLite, the demo's tables handed over without API-form records); these tests
pin each shortcut to the plain result.
"""

from __future__ import annotations

import random
import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from b24nb.sandbox.demo import make_demo
from b24nb.sandbox.fields import COMPANY, CONTACT
from b24nb.sandbox.inserts import insert
from b24nb.sandbox.store import Store


def _dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, with SQLite's type of each value."""
    out = {}
    for _, schema, _ in store.db.execute("PRAGMA database_list").fetchall():
        for (table,) in store.db.execute(f"SELECT name FROM {schema}.sqlite_master WHERE "
                                         "type = 'table' AND name NOT LIKE 'sqlite_%'"):
            cols = [r[1] for r in store.db.execute(f"PRAGMA {schema}.table_info({table})")]
            what = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
            out[table] = store.db.execute(f"SELECT {what} FROM {schema}.{table} ORDER BY 1"
                                          ).fetchall()
    return out


def _seed(store: Store, deals, orders, contacts, companies, bindings) -> Store:
    store.add_people(CONTACT, contacts)
    store.add_people(COMPANY, companies)
    store.add_deals(deals)
    store.add_orders(orders)
    store.add_bindings(bindings)
    return store


def _records(n: int, seed: int) -> tuple[list[dict], ...]:
    """Records as callers write them: gaps, strings for numbers, odd spellings, empties."""
    r = random.Random(seed)

    def some(rec: dict, p: float, key: str, *values: object) -> None:
        if r.random() < p:
            rec[key] = r.choice(values)

    deals, orders, contacts, companies, bindings = [], [], [], [], []
    for i in range(1, n + 1):
        d: dict = {"ID": i} if r.random() < 0.6 else {}  # given IDs increase
        some(d, 0.8, r.choice(["TITLE", "title"]), "T", "", None, 5, f"Deal {i}")
        some(d, 0.5, "OPPORTUNITY", 1, "12.5", 3.25, None, "", "abc", True)
        some(d, 0.5, "STAGE_ID", "WON", "C2:NEW", "NEW", "", None, "C1:APOLOGY", "EXECUTING")
        some(d, 0.5, "DATE_CREATE", "2025-05-01T10:00:00+03:00", "01.02.2025", 1.7e9, None)
        some(d, 0.3, "CLOSEDATE", "2025-05-09", None, "")
        some(d, 0.5, "CONTACT_ID", 1, "2", 0, "", None, 3.0)
        some(d, 0.3, "CLOSED", "Y", "n", True, "1", None)
        some(d, 0.2, "UNKNOWN_FIELD", 5)
        deals.append(d)
        o: dict = {"id": i} if r.random() < 0.6 else {}
        some(o, 0.7, "accountNumber", str(i), i, None, "", "A-1")
        some(o, 0.7, "price", 1, "12.5", 3.25, None)
        some(o, 0.5, "dateInsert", "2025-05-01T10:00:00+03:00", 1.7e9, None)
        some(o, 0.3, "payed", "Y", "N", True, None)
        some(o, 0.3, "xmlId", "x", "", None)
        some(o, 0.6, "clients", [{"entityTypeId": 3, "entityId": i % 7 + 1}], [],
             [{"entityTypeId": 3, "entityId": "4", "isPrimary": "N", "roleId": 2},
              {"entityTypeId": 4, "entityId": 2}], {"0": {"entityTypeId": 3, "entityId": 9}})
        some(o, 0.9, "properties", {"NAME": "Ann", "EMAIL": "a@b", "PHONE": None},
             {"NAME": f"Bob {i}", "EMAIL": None, "PHONE": "+7 1"},
             [{"code": "email", "value": "x@y"}, {"code": "Custom", "value": 5, "name": "Mine"}])
        some(o, 0.1, "basketItems", [{"name": "x", "price": 1}])
        orders.append(o)
        c: dict = {"ID": i} if r.random() < 0.6 else {}
        some(c, 0.7, r.choice(["NAME", "name"]), "Ann", "", None)
        some(c, 0.5, "EMAIL", [{"VALUE": "a@b"}], "x@y", [], None, ["p@q", {"VALUE": "z"}])
        some(c, 0.5, "PHONE", [{"VALUE": "+7 1", "VALUE_TYPE": "MOBILE"}], "123", [])
        some(c, 0.2, "HAS_PHONE", "Y")
        contacts.append(c)
        companies.append({"TITLE": r.choice(["Acme", "", None])} if r.random() < 0.8 else {})
        if r.random() < 0.5:
            bindings.append({"orderId": i, "ownerId": r.choice([1, "2", i])})
    return deals, orders, contacts, companies, bindings


def test_one_big_seed_stores_what_record_by_record_adds_store() -> None:
    records = _records(300, seed=4)
    bulk = _seed(Store(lambda: 1.7e9), *records)
    single = Store(lambda: 1.7e9)
    for group in zip(*(recs + [None] * (300 - len(recs)) for recs in records), strict=True):
        _seed(single, *([rec] if rec is not None else [] for rec in group))
    assert _dump(bulk) == _dump(single)


def test_demo_tables_load_the_portal_its_records_describe() -> None:
    demo = make_demo(seed=5, n_deals=300, n_orders=360)
    from_records = _seed(Store(lambda: 1.7e9), demo.deals, demo.orders, demo.contacts,
                         demo.companies, demo.bindings)
    from_tables = Store(lambda: 1.7e9)
    from_tables.load_all(demo.store_tables())
    for store in (from_records, from_tables):
        store.create_indexes()
    assert _dump(from_tables) == _dump(from_records)


def test_load_all_accepts_nothing_and_leaves_a_working_store() -> None:
    store = Store(lambda: 1.7e9)
    store.load_all([])
    assert store.add_orders([{"price": 1}]) == [1]
    assert store.count("orders") == 1


_VALUES = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.booleans(),
                    st.floats(allow_nan=False), st.text(max_size=5))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 150), st.integers(1, 4), st.data())
def test_insert_stores_what_plain_executemany_stores(n: int, period: int, data) -> None:
    db = sqlite3.connect(":memory:")
    names = ("a", "b", "c", "d")
    for table in ("plain", "fast"):
        db.execute(f"CREATE TABLE {table} (a, b, c, d)")
    cols: dict = {}
    for name in names:
        kind = data.draw(st.sampled_from(["one", "cycle", "twins", "list", "alias"]))
        if kind == "one":
            cols[name] = data.draw(_VALUES)
        elif kind == "twins":  # equal values of different types: 7, 7.0, True…
            x = data.draw(st.integers(0, 1))
            cols[name] = [(x, float(x), bool(x))[data.draw(st.integers(0, 2))] if i % 3 else x
                          for i in range(n)]
        elif kind == "cycle":  # a value per position in a group of `period` rows
            cycle = data.draw(st.lists(_VALUES, min_size=period, max_size=period))
            cols[name] = (cycle * n)[:n]
        elif kind == "alias" and any(isinstance(v, list) for v in cols.values()):
            cols[name] = next(v for v in cols.values() if isinstance(v, list))  # same object
        else:
            cols[name] = data.draw(st.lists(_VALUES, min_size=n, max_size=n))
    rows = [tuple(v[i] if isinstance(v, list) else v for v in (cols[k] for k in names))
            for i in range(n)]
    db.executemany("INSERT INTO plain VALUES (?, ?, ?, ?)", rows)
    insert(db, "INSERT", "fast", names, cols, n, period)
    query = "SELECT rowid, a, typeof(a), b, typeof(b), c, typeof(c), d, typeof(d) FROM {}"
    assert db.execute(query.format("fast")).fetchall() == \
        db.execute(query.format("plain")).fetchall()
