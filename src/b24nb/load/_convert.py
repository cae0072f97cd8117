"""Turn lists of API records into typed DataFrame columns, one vectorised pass per column.

Why vectorised: a portal export is 10⁵–10⁶ rows; a Python loop per cell costs seconds where
Arrow and pandas casts cost milliseconds. The only per-row Python work left is pulling one
key out of each record dict (a list comprehension), which the JSON parser forces on us.

Empty strings and ``None`` become NA everywhere: ``crm.deal.list`` sends ``""`` and ``null``
for "no value" interchangeably.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from b24nb.load._fields import Kind, kind_of

try:  # Arrow parses numeric strings ~5x faster than pd.to_numeric; pandas works without it.
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - pyarrow ships with pandas' default string dtype
    pa = None
    pc = None

__all__ = ["DATETIME", "STRING", "column", "digits", "lower_email", "typed_frame"]

log = logging.getLogger(__name__)

DATETIME = "datetime64[ns, UTC]"
STRING = pd.StringDtype()

_YN = {"Y": True, "N": False, "y": True, "n": False, "1": True, "0": False, 1: True, 0: False,
       "true": True, "false": False, "TRUE": True, "FALSE": False}
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
# A "char" field named like a reference (statusId, recurringId, lockedBy) is a code, not a flag.
_REFERENCE_NAME = re.compile(r"(Id|_ID|By|_BY)$")


def _series(values: Sequence[Any]) -> pd.Series:
    return pd.Series(values, dtype=object)


def _arrow_numbers(values: Sequence[Any], integer: bool) -> Any | None:
    """Parse with Arrow; ``None`` when the values are not all numbers or numeric strings."""
    if pa is None:
        return None
    try:
        arr = pa.array(values, from_pandas=True)
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            arr = pc.if_else(pc.equal(pc.utf8_trim_whitespace(arr), ""),
                             pa.scalar(None, arr.type), arr)
            arr = pc.cast(arr, pa.float64() if not integer else pa.int64())
        elif pa.types.is_null(arr.type):
            arr = arr.cast(pa.int64() if integer else pa.float64())
        elif not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
            return None
        return arr
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None


def _to_int(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    arr = _arrow_numbers(values, integer=True)
    if arr is not None and (pa.types.is_integer(arr.type)):
        return pd.array(arr.to_pandas(types_mapper=pd.ArrowDtype), dtype="Int64")
    num = pd.to_numeric(_series(values), errors="coerce")
    whole = num.dropna()
    if (whole % 1 != 0).any():
        # Never round an identifier silently; a fractional "integer" is worth a look.
        log.warning("integer column holds fractional values; keeping float64")
        return pd.array(num.astype("float64"))
    return pd.array(num, dtype="Int64")


def _to_float(values: Sequence[Any], money: bool = False) -> np.ndarray:
    arr = _arrow_numbers(values, integer=False)
    if arr is not None:
        return arr.to_numpy(zero_copy_only=False).astype("float64", copy=False)
    s = _series(values)
    if money:  # user-field money is "1000|RUB"
        s = s.where(s.isna(), s.astype(str).str.split("|", n=1).str[0])
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _arrow_strings(values: Sequence[Any]) -> Any | None:
    """An Arrow string array with ``""`` turned into null; ``None`` if not all text."""
    if pa is None:
        return None
    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _to_datetime(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    arr = _arrow_strings(values)
    if arr is not None:
        # The portal's own format (2024-09-02T18:37:18+02:00) parses in C; anything else
        # (bare dates, fractions of a second) leaves nulls behind and goes to pandas.
        parsed = pc.strptime(arr, format="%Y-%m-%dT%H:%M:%S%z", unit="ns", error_is_null=True)
        if parsed.null_count == arr.null_count:
            return parsed.to_pandas().astype(DATETIME).array
    s = _series(values)
    s = s.where(s != "")
    out = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")
    return out.astype(DATETIME).array


def _to_bool(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    # True/False hash like 1/0, so JSON booleans map through the same table.
    out = _series(values).map(_YN)
    return pd.array(out.astype("object").where(out.notna(), None), dtype="boolean")


def _to_string(values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    if STRING.storage == "pyarrow":
        arr = _arrow_strings(values)
        if arr is not None:
            return pd.arrays.ArrowStringArray(pa.chunked_array([arr], type=pa.string()))
    out = _series(values).astype(STRING)
    return out.where(out != "").array


def _flag_or_string(name: str, values: Sequence[Any]) -> pd.api.extensions.ExtensionArray:
    """A declared ``char`` field: a Y/N flag, unless its name or its values say it is a code.

    ``sale.order.getFields`` declares ``statusId`` ("N", "P", "F"…) as ``char`` just like
    ``payed``; a status column where every order is "N" must not turn into ``False``.
    """
    if _REFERENCE_NAME.search(name):
        return _to_string(values)
    arr = _arrow_strings(values)
    if arr is not None:  # the usual case, all text: decide and convert in Arrow
        if pc.all(pc.is_in(arr.drop_null(), pa.array(["Y", "N"]))).as_py() is not False:
            flags = pc.equal(arr, "Y")
            return pd.arrays.BooleanArray(
                flags.fill_null(False).to_numpy(zero_copy_only=False),
                flags.is_null().to_numpy(zero_copy_only=False),
            )
        return _to_string(values)
    s = _series(values)
    present = s[s.notna() & (s != "")]
    if present.isin(["Y", "N", True, False]).all():
        return _to_bool(values)
    return _to_string(values)


def _infer(name: str, values: Sequence[Any]) -> Any:
    """No metadata for this column: decide from the first non-empty value."""
    sample = next((v for v in values if v is not None and v != ""), None)
    if sample is None:
        return _to_string(values)
    if isinstance(sample, bool):
        return _to_bool(values)
    if isinstance(sample, int | float):
        # One float anywhere makes the column float (a price of 1176 next to 99.5).
        arr = _arrow_numbers(values, integer=False)
        if arr is not None and pa.types.is_integer(arr.type):
            return _to_int(values)
        return _to_float(values)
    if isinstance(sample, list | dict):
        return pd.array(list(values), dtype=object)
    if isinstance(sample, str):
        if sample in ("Y", "N"):
            return _flag_or_string(name, values)
        if _ISO_DATE.match(sample):
            return _to_datetime(values)
    return _to_string(values)


def column(name: str, values: Sequence[Any], kind: str) -> Any:
    """Convert one column's raw values to the array for ``kind``."""
    if kind == Kind.INT:
        return _to_int(values)
    if kind in (Kind.FLOAT, Kind.MONEY):
        return _to_float(values, money=kind == Kind.MONEY)
    if kind == Kind.DATETIME:
        return _to_datetime(values)
    if kind == Kind.BOOL:
        return _to_bool(values)
    if kind == Kind.FLAG:
        return _flag_or_string(name, values)
    if kind == Kind.STRING:
        return _to_string(values)
    if kind == Kind.OBJECT:
        return pd.array(list(values), dtype=object)
    return _infer(name, values)


def typed_frame(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    infos: Mapping[str, Any],
    *,
    id_field: str,
    index_name: str,
) -> pd.DataFrame:
    """Build the typed frame: index ``index_name`` (Int64) from ``id_field``, one column each.

    ``columns`` fixes the column order and guarantees every column exists even when no row
    came back, so an empty result still has the frame's full, typed shape.
    """
    index = pd.Index(_to_int([r.get(id_field) for r in rows]), dtype="Int64", name=index_name)
    data: dict[str, Any] = {}
    for name in columns:
        if name == id_field:
            continue
        raw = [r.get(name) for r in rows]
        data[name] = column(name, raw, kind_of(infos.get(name)))
    frame = pd.DataFrame(data, index=index, columns=[c for c in columns if c != id_field])
    # portal.list may walk several ID ranges at once; hand back one stable order.
    return frame if frame.index.is_monotonic_increasing else frame.sort_index(kind="stable")


# -- normalisation for matching ------------------------------------------------------------
def lower_email(s: pd.Series) -> pd.Series:
    """Lower-case, trimmed e-mail; empty -> NA."""
    out = s.astype(STRING).str.strip().str.lower()
    return out.where(out != "")


def digits(s: pd.Series) -> pd.Series:
    """Only the digits of a phone number; no digits -> NA."""
    out = s.astype(STRING).str.replace(r"\D+", "", regex=True)
    return out.where(out != "")
