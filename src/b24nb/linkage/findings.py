"""The checks of the health report: one function per finding, each returning its rows.

Every finding is a frame indexed by ``order_id`` (``many_orders``: by owner) whose columns
say why the row is there, so an analyst can filter, sort and export it like any other frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from b24nb.linkage.frames import DEAL, Inputs

__all__ = ["FINDINGS", "compute", "links"]

#: finding name -> one-line description (the summary's text, in display order)
FINDINGS: dict[str, str] = {
    "unowned": "orders bound to nothing",
    "auto_created": "orders bound to an auto-created duplicate deal",
    "dangling": "bindings whose owner no longer exists",
    "currency_mismatch": "order and owner in different currencies",
    "amount_mismatch": "owner's amount differs from its orders' total beyond the tolerance",
    "many_orders": "owners holding many orders",
    "customer_mismatch": "order's customer differs from the owner's contact",
}

_ORDER_COLUMNS = ("accountNumber", "price", "currency", "dateInsert", "customer_name",
                  "customer_email", "customer_phone")
_WORD = re.compile(r"\w{2,}")


def _order_part(orders: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in _ORDER_COLUMNS if c in orders.columns]
    part = orders[cols].copy()
    part.index = pd.Index(orders.index.astype("Int64"), name="order_id")
    return part


def links(inputs: Inputs, owners: pd.DataFrame, auto: pd.Series) -> pd.DataFrame:
    """Every order with its current owner and the owner's facts (NA when unbound)."""
    out = _order_part(inputs.orders)
    b = inputs.bindings
    b = b[~b.index.duplicated(keep="last")]
    out["owner_id"] = b["owner_id"].astype("Int64").reindex(out.index)
    out["owner_type_id"] = b["owner_type_id"].astype("Int64").reindex(out.index)
    key = pd.MultiIndex.from_arrays([out["owner_type_id"], out["owner_id"]])
    facts = owners.reindex(key)
    for col in owners.columns:
        out[f"owner_{col}"] = facts[col].to_numpy()
        out[f"owner_{col}"] = out[f"owner_{col}"].astype(owners[col].dtype)
    out["owner_exists"] = key.isin(owners.index)
    is_deal = (out["owner_type_id"] == DEAL).fillna(False).to_numpy(bool)
    auto_ids = auto.dropna().index
    out["owner_auto"] = is_deal & out["owner_id"].isin(auto_ids).fillna(False).to_numpy(bool)
    return out


def _best(pairs: pd.DataFrame | None) -> pd.DataFrame:
    """Per order, its best-scoring suggestion (owner, type, score) and how many there are."""
    cols = {"best_owner_id": "Int64", "best_owner_type_id": "Int64", "best_score": "float64",
            "candidates": "Int64"}
    if pairs is None or not len(pairs):
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()},
                            index=pd.Index([], dtype="Int64", name="order_id"))
    p = pairs.sort_values("score", ascending=False, kind="stable")
    first = p.drop_duplicates("order_id").set_index("order_id")
    out = pd.DataFrame({"best_owner_id": first["deal_id"].astype("Int64"),
                        "best_owner_type_id": first["owner_type_id"].astype("Int64"),
                        "best_score": first["score"].astype("float64")})
    out["candidates"] = p.groupby("order_id").size().reindex(out.index).astype("Int64")
    out.index = pd.Index(out.index.astype("Int64"), name="order_id")
    return out


def _with_best(rows: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    rows = rows.join(best, how="left")
    rows["candidates"] = rows["candidates"].fillna(0).astype("Int64")
    rows["has_candidate"] = (rows["candidates"] > 0).astype("boolean")
    return rows


def unowned(lk: pd.DataFrame, best: pd.DataFrame, **_: Any) -> pd.DataFrame:
    rows = lk.loc[lk["owner_id"].isna(), list(_order_columns(lk))]
    return _with_best(rows, best)


def auto_created(lk: pd.DataFrame, best: pd.DataFrame, **_: Any) -> pd.DataFrame:
    rows = lk.loc[lk["owner_auto"], [*_order_columns(lk), "owner_id", "owner_title"]]
    return _with_best(rows, best)


def dangling(lk: pd.DataFrame, inputs: Inputs, owners: pd.DataFrame,
             exists: Callable[[dict[int, list[int]]], set[tuple[int, int]]] | None = None,
             **_: Any) -> pd.DataFrame:
    """Bindings of the orders in the frame whose owner is in no owner frame of its type.

    With ``exists`` (asks the portal), an owner missing from a *filtered* frame (deals of a
    date range) is looked up before it is called gone; without it the frames are trusted.
    """
    b = inputs.bindings[~inputs.bindings.index.duplicated(keep="last")]
    b = b[b.index.isin(lk.index)]
    key = pd.MultiIndex.from_arrays([b["owner_type_id"].astype("Int64"),
                                     b["owner_id"].astype("Int64")])
    judged = b["owner_type_id"].isin(list(inputs.loaded_types)).fillna(False).to_numpy(bool)
    gone = judged & ~key.isin(owners.index)
    if exists is not None and gone.any():
        ask: dict[int, list[int]] = {}
        for t, i in key[gone]:
            ask.setdefault(int(t), []).append(int(i))
        found = exists(ask)
        if found:
            gone &= ~key.isin(list(found))
    rows = pd.DataFrame({"owner_id": b["owner_id"].astype("Int64")[gone],
                         "owner_type_id": b["owner_type_id"].astype("Int64")[gone]})
    rows.index = pd.Index(rows.index.astype("Int64"), name="order_id")
    return rows.join(lk[list(_order_columns(lk))], how="left")


def _bound(lk: pd.DataFrame) -> pd.DataFrame:
    return lk[lk["owner_exists"].to_numpy(bool)]


def currency_mismatch(lk: pd.DataFrame, **_: Any) -> pd.DataFrame:
    b = _bound(lk)
    differ = (b["currency"].str.upper() != b["owner_currency"].str.upper()).fillna(False)
    return b.loc[differ.to_numpy(bool), [*_order_columns(lk), "owner_id", "owner_type_id",
                                         "owner_title", "owner_amount", "owner_currency"]]


def _totals(lk: pd.DataFrame) -> pd.DataFrame:
    b = _bound(lk)
    g = b.groupby(["owner_type_id", "owner_id"])["price"]
    return pd.DataFrame({"orders_total": g.transform("sum"), "n_orders": g.transform("size")},
                        index=b.index)


def amount_mismatch(lk: pd.DataFrame, amount_tol: float, **_: Any) -> pd.DataFrame:
    b = _bound(lk)
    same = (b["currency"].str.upper() == b["owner_currency"].str.upper()).fillna(False)
    b = b[same.to_numpy(bool)].join(_totals(lk))
    diff = b["orders_total"] - b["owner_amount"].fillna(0.0)
    scale = b["owner_amount"].abs().clip(lower=1.0).fillna(1.0)
    over = (diff.abs() > amount_tol * scale + 1e-9).to_numpy(bool)
    rows = b.loc[over, [*_order_columns(lk), "owner_id", "owner_type_id", "owner_title",
                        "owner_amount", "orders_total", "n_orders"]].copy()
    rows["n_orders"] = rows["n_orders"].astype("Int64")
    rows["diff"] = diff[over]
    rows["rel_diff"] = (diff / scale)[over]
    return rows


def many_orders(lk: pd.DataFrame, owners: pd.DataFrame, many: int, **_: Any) -> pd.DataFrame:
    b = lk[lk["owner_id"].notna()]
    counts = b.groupby(["owner_type_id", "owner_id"]).size()
    keep = counts[counts >= many]
    # only the few owners kept are joined into id lists (a per-group join of every owner
    # would cost seconds on a big portal)
    mine = b[pd.MultiIndex.from_arrays([b["owner_type_id"], b["owner_id"]]).isin(keep.index)]
    g = mine.reset_index().groupby(["owner_type_id", "owner_id"])
    ids = g["order_id"].agg(lambda s: ";".join(map(str, s)))
    rows = pd.DataFrame({"n_orders": keep.astype("Int64"),
                         "order_ids": ids.reindex(keep.index).astype("string"),
                         "orders_total": g["price"].sum().reindex(keep.index)})
    facts = owners.reindex(keep.index)
    rows["title"] = facts["title"].to_numpy()
    rows["amount"] = facts["amount"].to_numpy()
    rows["exists"] = keep.index.isin(owners.index)
    return rows.sort_values("n_orders", ascending=False, kind="stable")


def _digits10(value: Any) -> set[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return set()
    return {p[-10:] for p in str(value).split(";") if len(p) >= 7}


def _set(value: Any, split: bool = True) -> set[str]:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return set()
    parts = str(value).lower().split(";") if split else [str(value).lower()]
    return {p.strip() for p in parts if p.strip()}


def customer_mismatch(lk: pd.DataFrame, **_: Any) -> pd.DataFrame:
    b = _bound(lk)
    b = b[~b["owner_auto"].to_numpy(bool)]
    keep: list[bool] = []
    why: list[str] = []
    cols = [b.get(c, pd.Series(pd.NA, index=b.index)) for c in (
        "customer_email", "customer_phone", "customer_name", "owner_contact_emails",
        "owner_contact_phones", "owner_contact_name")]
    for email, phone, name, o_emails, o_phones, o_name in zip(*cols, strict=True):
        e, oe = _set(email, split=False), _set(o_emails)
        p, op = _digits10(phone), _digits10(o_phones)
        n = set(_WORD.findall(str(name).lower())) if name is not pd.NA and name else set()
        on = set(_WORD.findall(str(o_name).lower())) if o_name is not pd.NA and o_name else set()
        comparable = (e and oe) or (p and op) or (n and on)
        agree = bool(e & oe) or bool(p & op) or bool(n & on)
        bad = bool(comparable) and not agree
        keep.append(bad)
        why.append(", ".join(k for k, a, c in (("e-mail", e & oe, e and oe),
                                                ("phone", p & op, p and op),
                                                ("name", n & on, n and on)) if c and not a)
                   if bad else "")
    mask = np.array(keep, dtype=bool)
    rows = b.loc[mask, [*_order_columns(lk), "owner_id", "owner_type_id", "owner_title",
                        "owner_contact_name", "owner_contact_emails", "owner_contact_phones"]]
    rows = rows.copy()
    rows["differs_on"] = pd.array(np.array(why, dtype=object)[mask], dtype="string")
    return rows


def _order_columns(lk: pd.DataFrame) -> tuple[str, ...]:
    return tuple(c for c in _ORDER_COLUMNS if c in lk.columns)


_CHECKS: dict[str, Callable[..., pd.DataFrame]] = {
    "unowned": unowned, "auto_created": auto_created, "dangling": dangling,
    "currency_mismatch": currency_mismatch, "amount_mismatch": amount_mismatch,
    "many_orders": many_orders, "customer_mismatch": customer_mismatch,
}


def compute(inputs: Inputs, owners: pd.DataFrame, auto: pd.Series, pairs: pd.DataFrame | None,
            *, amount_tol: float, many: int,
            exists: Callable[[dict[int, list[int]]], set[tuple[int, int]]] | None = None
            ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Run every check; returns ``(findings, links)``."""
    lk = links(inputs, owners, auto)
    best = _best(pairs)
    found = {name: check(lk=lk, best=best, inputs=inputs, owners=owners,
                         amount_tol=amount_tol, many=many, exists=exists)
             for name, check in _CHECKS.items()}
    return found, lk
