"""Column-wise seeding: records become columns, which :mod:`.inserts` then writes.

Why: a portal of 200,000 deals and 200,000 orders must load in seconds. Row by row, the load
was dominated by Python work per field (a dict per row, a converter call per value) and by
binding some 45 parameters per row. Here each field is handled a column at a time with
C-speed builtins (``map``, ``zip``, ``set``, ``all``), a column already in storage form is
taken as it is, and the writer binds only the columns that vary.

A *column* is a list with one value per row, or a single value meaning "this for every
row" (a field absent from every record is the column ``None``). ``fill`` is the column-wise
``value or default``, so the defaults (:mod:`.defaults`) read like the per-row rules they
replace; a default that *is* another column ("modified = created") is that very list, which
the writer binds once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from .fields import Entity, Field
from .query import to_storage

__all__ = ["Column", "columns_of", "derive", "fill", "keys_of", "n_rows", "seq_ids", "transpose"]

Column = Any  # list (one value per row) or a single value for all rows


def n_rows(cols: Mapping[str, Column]) -> int:
    """Rows in a table of columns: the length of its list columns (0 if it has none)."""
    return max((len(v) for v in cols.values() if isinstance(v, list)), default=0)


def transpose(names: Sequence[str], rows: Sequence[tuple]) -> dict[str, list[Any]]:
    """Rows (tuples in ``names`` order) as columns; no rows give no columns."""
    return {name: list(col) for name, col in zip(names, zip(*rows, strict=True), strict=False)}


def fill(col: Column, default: Column) -> Column:
    """``value or default`` per row; ``default`` is a single value or another column."""
    if not isinstance(col, list):
        return col if col else default
    if all(col):
        return col
    if isinstance(default, list):
        return [a or b for a, b in zip(col, default, strict=True)]
    return [a or default for a in col]


def derive(col: Column, fn: Callable[[Any], Any]) -> Column:
    """``fn(value)`` per row, computed once per distinct value (few stages, flags, …)."""
    if not isinstance(col, list):
        return fn(col)
    table = {v: fn(v) for v in set(col)}
    return list(map(table.__getitem__, col))


def seq_ids(col: Column, n: int, next_id: int) -> list[int]:
    """IDs for ``n`` rows: given ones kept, empty ones numbered on from the running maximum."""
    if isinstance(col, list) and all(col):
        return col
    if not isinstance(col, list):
        if col:
            return [col] * n
        return list(range(next_id, next_id + n))
    out = []
    for v in col:
        if not v:
            v = next_id
        next_id = max(next_id, v) + 1
        out.append(v)
    return out


# ----------------------------------------------------------------------------- records → columns
def _fast(f: Field) -> Callable[[Any], Any]:
    """A converter for field ``f`` that skips the general cast when the value is canonical."""
    kind = f.kind

    def slow(value: Any) -> Any:
        return to_storage(f, value)

    if kind == "int":
        return lambda v: v if type(v) is int else slow(v)
    if kind == "ref":
        return lambda v: (v or None) if type(v) is int else slow(v)
    if kind == "float":
        return lambda v: float(v) if type(v) in (int, float) else slow(v)
    if kind == "str":
        return lambda v: v if type(v) is str else slow(v)
    if kind == "yn":
        return lambda v: v if type(v) is str and v in ("Y", "N") else slow(v)
    if kind in ("datetime", "date"):
        return lambda v: v if type(v) is float else slow(v)
    return slow


_NONE = type(None)
_CANONICAL = {"int": {int}, "ref": {int, _NONE}, "float": {float, _NONE}, "str": {str, _NONE},
              "yn": {str, _NONE}, "datetime": {float, _NONE}, "date": {float, _NONE}}


def _convert(f: Field, col: list[Any]) -> list[Any]:
    """Cast a column of API values to storage values (a no-op for canonical columns)."""
    if set(map(type, col)) <= _CANONICAL[f.kind]:
        if f.kind == "ref" and 0 in col:
            return [v or None for v in col]
        if f.kind != "yn" or set(col) <= {"Y", "N", None}:
            return col
    return list(map(_fast(f), col))


def _last_of(rec: Mapping[str, Any], keys: set[Any]) -> Any:
    value = None
    for k in rec:  # several spellings of one field ("TITLE", "title"): the last one wins
        if k in keys:
            value = rec[k]
    return value


def keys_of(recs: Sequence[Mapping[str, Any]]) -> set[Any]:
    """Every key used by any of the records."""
    return set().union(*recs) if recs else set()


def columns_of(ent: Entity, recs: Sequence[Mapping[str, Any]],
               keys: set[Any] | None = None) -> dict[str, Column]:
    """Storage columns of ``ent``'s fields found in the records (multifields excluded)."""
    keys = keys_of(recs) if keys is None else keys
    spellings: dict[str, list[Any]] = {}
    for key in keys:
        f = ent.lookup(str(key))
        if f is not None and f.kind != "fm":
            spellings.setdefault(f.name, []).append(key)
    single = {name: ks[0] for name, ks in spellings.items() if len(ks) == 1}
    raw: dict[str, Any] = {}
    if single and min(map(len, recs)) == len(keys):  # every record has every key
        rows = list(map(itemgetter(*single.values()), recs))  # one visit per record
        raw.update(zip(single, zip(*rows, strict=True) if len(single) > 1 else [rows],
                       strict=True))
    else:
        raw.update((name, [rec.get(key) for rec in recs]) for name, key in single.items())
    for name, ks in spellings.items():
        if len(ks) > 1:
            wanted = set(ks)
            raw[name] = [_last_of(rec, wanted) for rec in recs]
    return {name: _convert(ent.lookup(name), list(col)) for name, col in raw.items()}
