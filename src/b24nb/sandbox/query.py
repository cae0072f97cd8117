"""Compile the API's ``filter`` / ``order`` / ``select`` into SQL, and format rows back.

The filter language is shared by legacy CRM and the sale/engine controllers: a key is an
optional operator prefix followed by a field name (``>=DATE_CREATE``, ``!@ID``, ``%TITLE``).
Unknown fields are dropped silently, as the server's white-listing does; values are cast to
the field's type the way PHP would, so ``"12abc"`` on an integer field means 12.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .fields import Entity, Field
from .php import format_date, format_datetime, parse_datetime, php_float, php_int

__all__ = ["ValueStyle", "columns_for", "compile_filter", "compile_order", "formatter",
           "split_key", "to_storage"]

# Longest prefixes first so "!=%" is not read as "!" + "=%FIELD".
_PREFIXES = ("!=%", "!%=", ">=", "<=", "=%", "%=", "!@", "!%", "!=", "@", "%", "=", ">",
             "<", "!")

ValueStyle = str  # "crm" (legacy: strings) or "sale" (typed camelCase)


def split_key(key: str) -> tuple[str, str]:
    """Split ``">=DATE_CREATE"`` into ``(">=", "DATE_CREATE")``."""
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return prefix, key[len(prefix):]
    return "", key


def to_storage(f: Field, value: Any) -> Any:
    """Cast an API value to what the table stores for field ``f`` (None for empty)."""
    kind = f.kind
    if kind == "int":
        return php_int(value)
    if kind == "ref":
        if value is None or value == "" or value is False:
            return None
        number = php_int(value)
        return number or None
    if kind == "float":
        if value is None or value == "":
            return None
        return php_float(value)
    if kind == "yn":
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return "Y" if value.strip().upper() in ("Y", "1", "TRUE", "YES") else "N"
        return "Y" if value else "N"
    if kind in ("datetime", "date"):
        return parse_datetime(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _cast_filter_value(f: Field, value: Any, int_cast_lists: bool) -> Any:
    if isinstance(value, (list, tuple, dict)) and not int_cast_lists:
        items = value.values() if isinstance(value, dict) else value
        # nested arrays inside an IN-list are cast like scalars: (int)array → 1
        return [_cast_filter_value(f, v, True) for v in items]
    if f.kind in ("int", "ref"):
        return php_int(value)
    if f.kind == "float":
        return php_float(value)
    if f.kind in ("datetime", "date"):
        ts = parse_datetime(value)
        return ts if ts is not None else 0.0
    if f.kind == "yn":
        return to_storage(f, value) or ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _is_empty(value: Any) -> bool:
    return value is None or value is False or value == ""


def compile_filter(
    entity: Entity,
    flt: Any,
    *,
    int_cast_lists: bool = False,
    fm_table: str | None = None,
) -> tuple[str, list[Any]]:
    """Translate an API filter into a SQL ``WHERE`` clause and its parameters.

    ``int_cast_lists`` reproduces the engine controllers' ``(int)`` cast of every value, which
    turns an IN-list into ``1`` (crm.orderentity.list: ``@orderId`` does not work there).
    """
    if not isinstance(flt, Mapping):
        return "1", []
    clauses: list[str] = []
    params: list[Any] = []
    for raw_key, raw_value in flt.items():
        op, name = split_key(str(raw_key))
        f = entity.lookup(name)
        if f is None:
            continue  # the server's white-list drops unknown keys without a word
        if f.kind == "fm":
            if fm_table is None:
                continue
            sql, p = _fm_clause(entity, f, op, raw_value, fm_table)
            clauses.append(sql)
            params.extend(p)
            continue
        col = f'"{f.col}"'
        value = _cast_filter_value(f, raw_value, int_cast_lists)
        sql, p = _clause(col, op, value, _is_empty(raw_value) and f.kind not in ("int",))
        clauses.append(sql)
        params.extend(p)
    return (" AND ".join(clauses) or "1"), params


def _clause(col: str, op: str, value: Any, empty: bool) -> tuple[str, list[Any]]:
    """One filter key as SQL: ``value`` is cast already, ``empty`` says it was empty raw."""
    values = value if isinstance(value, list) else None
    if op in ("", "="):
        return _equal(col, value, values, empty)
    if op in ("!", "!="):
        return _not_equal(col, value, values, empty)
    items = values if values is not None else [value]
    if op in ("@", "!@"):
        return _in_list(col, op, items)
    if op in (">", ">=", "<", "<="):
        return _compare(col, op, items)
    return _like(col, op, items)


def _marks(items: list[Any]) -> str:
    return ",".join("?" * len(items))


def _equal(col: str, value: Any, values: list[Any] | None, empty: bool
           ) -> tuple[str, list[Any]]:
    if values is not None:
        if not values:
            return "0", []
        return f"{col} IN ({_marks(values)})", values
    if empty:
        return f"({col} IS NULL OR {col} = '')", []
    return f"{col} = ?", [value]


def _not_equal(col: str, value: Any, values: list[Any] | None, empty: bool
               ) -> tuple[str, list[Any]]:
    if values is not None:
        if not values:
            return "1", []
        return f"({col} IS NULL OR {col} NOT IN ({_marks(values)}))", values
    if empty:
        return f"({col} IS NOT NULL AND {col} != '')", []
    return f"({col} IS NULL OR {col} != ?)", [value]


def _in_list(col: str, op: str, items: list[Any]) -> tuple[str, list[Any]]:
    if not items:
        return ("0" if op == "@" else "1"), []
    if op == "@":
        return f"{col} IN ({_marks(items)})", items
    return f"({col} IS NULL OR {col} NOT IN ({_marks(items)}))", items


def _compare(col: str, op: str, items: list[Any]) -> tuple[str, list[Any]]:
    if not items:
        return "0", []
    # CSQLWhere ORs the comparisons of an array value
    return "(" + " OR ".join(f"{col} {op} ?" for _ in items) + ")", items


def _like(col: str, op: str, items: list[Any]) -> tuple[str, list[Any]]:
    """The LIKE family: case-insensitive like MySQL's *_ci collations."""
    parts = []
    params = []
    for item in items:
        text = str(item)
        pattern = f"%{text}%" if op in ("%", "!%") else text
        parts.append(f"ulower({col}) LIKE ulower(?)")
        params.append(pattern)
    sql = "(" + " OR ".join(parts) + ")" if parts else "0"
    if op.startswith("!"):
        sql = f"NOT COALESCE({sql}, 0)"
    return sql, params


def _fm_clause(entity: Entity, f: Field, op: str, value: Any, fm_table: str
               ) -> tuple[str, list[Any]]:
    values = [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
    inner_op = op.lstrip("!") or "="
    like = inner_op in ("%", "=%", "%=")
    cond = " OR ".join(["ulower(value) LIKE ulower(?)" if like else "value = ?"] * len(values))
    pattern = [f"%{v}%" if inner_op == "%" else v for v in values]
    sub = (f"SELECT element_id FROM {fm_table} WHERE entity = ? AND type_id = ? "
           f"AND ({cond or '0'})")
    neg = "NOT " if op.startswith("!") else ""
    return f'"{entity.pk_column}" {neg}IN ({sub})', [entity.name, f.name, *pattern]


def compile_order(entity: Entity, order: Any, default: Iterable[tuple[str, str]]) -> str:
    """Translate ``{FIELD: "ASC"|"DESC"}`` into ``ORDER BY``; ties break on the primary key."""
    parts: list[str] = []
    seen: set[str] = set()
    items = order.items() if isinstance(order, Mapping) and order else default
    for name, direction in items:
        f = entity.lookup(str(name))
        if f is None or f.kind == "fm" or f.col in seen:
            continue
        d = "DESC" if str(direction).strip().upper() == "DESC" else "ASC"
        parts.append(f'"{f.col}" {d}')
        seen.add(f.col)
    if entity.pk_column not in seen:
        parts.append(f'"{entity.pk_column}" ASC')
    return ", ".join(parts)


def _crm_value(kind: str) -> Callable[[Any], Any]:
    if kind == "float":
        return lambda v: None if v is None else f"{v:.2f}"
    if kind == "datetime":
        return format_datetime
    if kind == "date":
        return format_date
    if kind in ("int", "ref"):
        return lambda v: None if v is None else str(v)
    return lambda v: v


def _sale_value(kind: str) -> Callable[[Any], Any]:
    if kind == "float":
        return lambda v: None if v is None else (int(v) if float(v).is_integer() else v)
    if kind == "datetime":
        return format_datetime
    if kind == "date":
        return format_date
    return lambda v: v


def formatter(entity: Entity, names: Iterable[str], style: ValueStyle,
              positions: Mapping[str, int] | None = None
              ) -> list[tuple[str, int, Callable[[Any], Any]]]:
    """Build ``(api_name, column_index, to_api)`` triples for a SELECT of ``names``.

    ``positions`` maps table columns to row positions; by default rows are ``SELECT *``.
    """
    index = positions if positions is not None else entity.positions
    maker = _crm_value if style == "crm" else _sale_value
    out = []
    for name in names:
        f = entity.lookup(name)
        if f is None or f.kind == "fm":
            continue
        out.append((f.name, index[f.col], maker(f.kind)))
    return out


def columns_for(entity: Entity, names: Iterable[str]) -> tuple[list[str], dict[str, int]]:
    """Table columns to SELECT for API ``names`` (primary key first) and their positions.

    Fetching only the selected columns keeps a 50-row page cheap on wide tables.
    """
    cols = [entity.pk_column]
    for name in names:
        f = entity.lookup(name)
        if f is not None and f.kind != "fm" and f.col not in cols:
            cols.append(f.col)
    return cols, {c: i for i, c in enumerate(cols)}
