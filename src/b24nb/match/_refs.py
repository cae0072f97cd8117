"""Order references in deal titles, in the formats offices write them.

Managers cite the order in a title as "Заказ №123", "(заказ №A-77)", "Order #A-17",
"ORD-2025-00123", "Счёт № 123 от 01.02.2025", "КП-123", "Invoice 123", "№123" or "#123";
the store may number orders "123", "A-0077" or "ORD-2025-00123". Both sides are reduced to
the same keys — the reference written without separators, lower-case, and its trailing digit
run without leading zeros — so "ORD-00123" in a title meets order "123" and "A-77" meets
"a-0077" halfway. A bare number ("Deal 123") is not a reference: deals are numbered too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["REF", "order_keys", "title_refs"]

REF = re.compile(
    r"(?:\b(?:заказ\w*|order|ord|сч[её]т\w*|кп|invoice|inv)|№|#)[\s№#:.\-]*(?:n\s)?"
    r"([A-Za-zА-Яа-я]{0,4}-?\d[\w\-]*)", re.IGNORECASE)


# every title REF can match contains one of these (a superset: no word boundaries, which the
# vectorised engine reads as ASCII-only)
_MAYBE = r"(?i)(?:заказ|order|ord|сч[её]т|кп|invoice|inv|№|#)"


def _keys(refs: pd.Series) -> pd.DataFrame:
    """(row, key) for each reference: its compact form and its trailing number."""
    refs = refs.astype("string").str.lower()
    full = refs.str.replace(r"[^0-9a-zа-яё]+", "", regex=True)
    tail = refs.str.extract(r"(\d+)\D*$", expand=False).str.lstrip("0")
    both = pd.concat([full, tail]).dropna()
    both = both[both != ""]
    return pd.DataFrame({"row": both.index.to_numpy(np.int64),
                         "key": both.array}).drop_duplicates(ignore_index=True)


def _per_distinct(values: pd.Series, keys_of: Callable[[pd.Series], pd.DataFrame]
                  ) -> pd.DataFrame:
    """``keys_of`` worked out once per distinct value, spread back to the rows."""
    codes, uniques = pd.factorize(values.reset_index(drop=True))
    keys = keys_of(pd.Series(uniques, dtype=object))
    rows = pd.DataFrame({"u": codes, "row_": np.arange(len(codes))})
    m = rows.merge(keys.rename(columns={"row": "u"}), on="u")
    return pd.DataFrame({"row": m["row_"].to_numpy(np.int64),
                         "key": m["key"].array})


def title_refs(titles: pd.Series) -> pd.DataFrame:
    """Order references found in deal titles as (row, key); row = position in ``titles``."""
    def refs(uniq: pd.Series) -> pd.DataFrame:
        # a cheap vectorised test first (Arrow's regex engine): most titles cite nothing
        maybe = uniq.astype("string").str.contains(_MAYBE, regex=True).fillna(False)
        found = uniq[maybe.to_numpy(bool)].astype(object).str.findall(REF).explode().dropna()
        return _keys(found)
    return _per_distinct(titles, refs)


def order_keys(numbers: pd.Series) -> pd.DataFrame:
    """Each order number's keys as (row, key)."""
    num = numbers.reset_index(drop=True).astype("string")
    ok = (num != "").to_numpy(bool)
    digits = num.str.fullmatch(r"\d+").fillna(False).to_numpy(bool) & ok
    # plain numbers (the store's default): the number without leading zeros is both keys
    plain = num[digits].str.lstrip("0")
    plain = plain[plain != ""]
    fast = pd.DataFrame({"row": plain.index.to_numpy(np.int64), "key": plain.array})
    rest = num[ok & ~digits]
    slow = _keys(rest) if len(rest) else fast.iloc[:0]
    return pd.concat([fast, slow], ignore_index=True)
