"""Write a table given as columns (see :mod:`.bulk`) with as little SQLite work as it takes.

Why: binding parameters and running one statement per row were most of a big load. Here

* a column holding one value for every row is written into the SQL as a literal;
* a column that is the very same list as another one is bound once (``?3`` twice);
* each statement inserts a block of rows (``VALUES (…), (…), …``), which halves the cost
  per row against one statement per row;
* with a *period* k (an order's NAME, EMAIL and PHONE properties: k = 3 rows per order), a
  column repeating the same k values (the codes) becomes k literals, and one holding the
  same value across each group of k rows (the order id) is bound once per group.

Parameters are streamed to ``executemany`` through iterators: no list of row tuples is
built, and no column is copied (copies of big columns cost more than they save).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain, islice, repeat
from typing import Any

__all__ = ["insert"]

#: Below this many groups of rows, every column is bound and each statement inserts one
#: group: the SQL text stays the same, so the statement cache serves one-record adds.
_LITERAL_MIN_ROWS = 64
#: Rows per statement in big loads (as whole groups of ``period`` rows).
_BLOCK_ROWS = 16


def _literal(value: Any) -> str | None:
    """SQL text for a value that reads back exactly, or None if it must be bound."""
    if value is None:
        return "NULL"
    t = type(value)
    if t is int and -2**63 <= value < 2**63:
        return str(value)
    if t is float and value.is_integer() and abs(value) < 2**53:
        return f"{int(value)}.0"
    if t is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def _one_type(values: list[Any]) -> bool:
    return len(set(map(type, values))) == 1  # 1 == 1.0 == True, yet SQLite stores each apart


def _constant(v: list[Any], start: int, step: int) -> bool:
    """Whether ``v[start::step]`` holds a single value (cheap rejection first)."""
    first = v[start]
    if v[start + step * ((len(v) - 1 - start) // step)] != first:
        return False
    sub = v[start::step]
    return sub.count(first) == len(sub) and _one_type(sub)


def _shared(v: list[Any], k: int) -> bool:
    """Whether each group of ``k`` consecutive values holds one value (an order's id)."""
    if any(v[j] != v[0] or v[-1 - j] != v[-1] for j in range(1, k)):
        return False
    head = v[0::k]
    return all(v[j::k] == head for j in range(1, k)) and _one_type(v)


class _Layout:
    """What each column of one group of ``period`` rows becomes: literals or parameters."""

    def __init__(self, names: Sequence[str], cols: Mapping[str, Any], n: int, k: int,
                 big: bool) -> None:
        self.k = k
        self.exprs: list[list[tuple[str, Any]]] = [[] for _ in range(k)]  # per row of a group
        self.sources: list[tuple[list[Any], bool]] = []  # (values, one per group?)
        seen: dict[int, list[tuple[str, Any]]] = {}
        for name in names:
            v = cols.get(name)
            if not isinstance(v, list):
                lit = _literal(v)
                if lit is not None:
                    self._put([("lit", lit)] * k)
                    continue
                v = [v] * n  # a single value SQL text can't spell exactly: bind it
            if id(v) in seen:
                self._put(seen[id(v)])
                continue
            if big and all(_constant(v, j, k) for j in range(k)):
                lits = [_literal(v[j]) for j in range(k)]
                if None not in lits:
                    self._put(seen.setdefault(id(v), [("lit", lit) for lit in lits]))
                    continue
            per_group = k > 1 and big and _shared(v, k)
            self.sources.append((v, per_group))
            slot = len(self.sources) - 1
            self._put(seen.setdefault(id(v), [("group" if per_group else "row", slot)] * k))

    def _put(self, per_row: list[tuple[str, Any]]) -> None:
        for row, expr in zip(self.exprs, per_row, strict=True):
            row.append(expr)

    def sql(self, verb: str, table: str, names: Sequence[str], groups: int) -> str:
        """The statement inserting ``groups`` groups of rows."""
        offsets, at = [], 0
        for _, per_group in self.sources:
            offsets.append(at)
            at += groups if per_group else groups * self.k
        rows = []
        for g in range(groups):
            for j, exprs in enumerate(self.exprs):
                parts = []
                for kind, arg in exprs:
                    if kind == "lit":
                        parts.append(arg)
                    elif kind == "group":
                        parts.append(f"?{offsets[arg] + g + 1}")
                    else:
                        parts.append(f"?{offsets[arg] + g * self.k + j + 1}")
                rows.append(f"({', '.join(parts)})")
        quoted = ", ".join(f'"{c}"' for c in names)
        return f"{verb} INTO {table} ({quoted}) VALUES {', '.join(rows)}"

    def params(self, first: int, groups: int, statements: int) -> Iterable[tuple]:
        """Parameters of ``statements`` statements of ``groups`` groups, from group ``first``."""
        if not self.sources:
            return repeat((), statements)
        chunks = []
        for v, per_group in self.sources:
            if per_group:
                src = islice(v, first * self.k, None, self.k)
                size = groups
            else:
                src = islice(v, first * self.k, None)
                size = groups * self.k
            chunks.append(zip(*[src] * size, strict=False) if size > 1 else zip(src))
        if len(chunks) == 1:
            return islice(chunks[0], statements)
        return islice(map(tuple, map(chain.from_iterable, zip(*chunks, strict=False))),
                      statements)


def insert(db: sqlite3.Connection, verb: str, table: str, names: Sequence[str],
           cols: Mapping[str, Any], n: int, period: int = 1) -> None:
    """``verb INTO table (names)`` the ``n`` rows of ``cols`` (absent names are NULL).

    ``period`` k > 1 says the rows come in groups of k (it is ignored unless k divides n).
    """
    for name, v in cols.items():
        if isinstance(v, list) and len(v) != n:
            raise ValueError(f"column {table}.{name} has {len(v)} values for {n} rows")
    if not n:
        return
    k = period if period >= 1 and n % period == 0 else 1
    total = n // k
    big = total >= _LITERAL_MIN_ROWS
    layout = _Layout(names, cols, n, k, big)
    block = max(1, _BLOCK_ROWS // k) if big else 1
    main, rest = divmod(total, block)
    if main:
        db.executemany(layout.sql(verb, table, names, block), layout.params(0, block, main))
    if rest:
        db.executemany(layout.sql(verb, table, names, rest),
                       layout.params(main * block, rest, 1))
