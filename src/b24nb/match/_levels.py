"""Agreement levels: for any (deal, order) pair, one small integer per comparison.

Why levels and not similarity floats: a Fellegi–Sunter model learns one m- and one
u-probability per level (:mod:`._model`), and a level is also what the analyst reads
("amount within 3 %", "order 1–3 days after the deal"). Level 0 of every comparison means
"cannot compare" (a side lacks the value): it weighs nothing either way.

Every function here takes arrays of deal rows ``di`` and order rows ``oi`` of any length — the
blocked candidates, or random pairs for the u-probabilities — so both are compared alike.
"""

from __future__ import annotations

import numpy as np

from b24nb.match._prep import NAME_TOKENS, NO_TIME, NONE, Side

__all__ = ["COMPARISONS", "LAG_EDGES", "LEVELS", "TF_LEVELS", "levels", "order_values", "tf_keys"]

DAY = 86_400.0

#: comparison -> level labels; index = level, 0 = cannot compare
LEVELS: dict[str, tuple[str, ...]] = {
    "amount": ("n/a", "equal", "within 0.5 %", "within 3 %", "within 10 %", "within 25 %",
               "different", "a half or a third (split delivery)"),
    "currency": ("n/a", "same", "different"),
    "client": ("n/a", "same contact", "same company", "different client"),
    "email": ("n/a", "same", "different"),
    "phone": ("n/a", "same", "different"),
    "name": ("n/a", "same", "partly same", "different"),
    "number": ("n/a", "order № in title", "another № in title"),
    "date": ("n/a", "deal > 30 d after order", "deal 10–30 d after order",
             "deal 3–10 d after order", "deal 1–3 d after order", "deal < 1 d after order",
             "within an hour", "order < 1 d after deal", "order 1–3 d after deal",
             "order 3–10 d after deal", "order 10–30 d after deal", "order 30–90 d after deal",
             "order > 90 d after deal"),
    "responsible": ("n/a", "same manager", "order's user is the deal's manager",
                    "different manager"),
    # What the model weighs for identity. Contact id, e-mail, phone and name all say "the same
    # customer" and agree together; weighed one by one their bits would add up as if
    # independent, and a repeat customer's *other* deal would look certain. So they form one
    # comparison whose levels are their combinations (the strongest first).
    "customer": ("n/a", "e-mail/phone and id or name", "e-mail/phone only",
                 "client id and name", "client id only", "name only", "name partly",
                 "different customer"),
}
#: the comparisons the model weighs (the others are shown, and feed "customer")
COMPARISONS = ("amount", "currency", "customer", "number", "date", "responsible")
#: lag bin edges in days (order date minus deal date), between levels 1 … 12 of "date"
LAG_EDGES = np.array([-30, -10, -3, -1, -1 / 24, 1 / 24, 1, 3, 10, 30, 90], dtype=np.float64)
#: levels whose weight is adjusted for how common the shared value is (term frequency)
TF_LEVELS: dict[str, tuple[int, ...]] = {"amount": (1,), "customer": (1, 2, 3, 4, 5)}


def _any_equal(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For code matrices: (some code equal, both sides have a code)."""
    eq = np.zeros(len(a), dtype=bool)
    cols_b = [j for j in range(b.shape[1]) if b[:, j].any()]  # orders: mostly one e-mail
    for i in range(a.shape[1]):
        ai = a[:, i]
        if not ai.any():
            continue
        for j in cols_b:
            eq |= (ai == b[:, j]) & (ai != 0)
    both = (a[:, 0] != 0) & (b[:, 0] != 0)
    return eq, both


def _three(eq: np.ndarray, both: np.ndarray) -> np.ndarray:
    return np.where(both, np.where(eq, 1, 2), 0).astype(np.int8)


def _amount(a: np.ndarray, p: np.ndarray, same_cur: np.ndarray) -> np.ndarray:
    diff = np.abs(a - p)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = diff / np.maximum(np.abs(a), np.abs(p))
    part = (np.abs(a / 2 - p) <= 0.01) | (np.abs(a / 3 - p) <= 0.01)
    lvl = np.select([diff <= 0.005, rel <= 0.005, rel <= 0.03, rel <= 0.10, rel <= 0.25, part],
                    [1, 2, 3, 4, 5, 7], 6).astype(np.int8)
    # a zero amount is "not filled in" on most portals; other currencies do not compare
    ok = same_cur & np.isfinite(diff) & (a > 0) & (p > 0)
    return np.where(ok, lvl, 0).astype(np.int8)


def _names(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Name level: every token of the shorter name in the other, some, none (or n/a)."""
    hits = np.zeros(len(a), dtype=np.int8)
    for i in range(NAME_TOKENS):
        ai = a[:, i]
        for j in range(NAME_TOKENS):
            hits += (ai == b[:, j]) & (ai != 0)
    na, nb = (a != 0).sum(axis=1), (b != 0).sum(axis=1)
    known = (na > 0) & (nb > 0)
    full = hits >= np.minimum(na, nb)
    lvl = np.where(known, np.where(hits == 0, 3, np.where(full & (np.maximum(na, nb) > 1)
                                                           | (full & (na == nb)), 1, 2)), 0)
    return lvl.astype(np.int8)


def levels(d: Side, o: Side, di: np.ndarray, oi: np.ndarray
           ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Level per comparison (int8 arrays) and the lag in days (NaN when unknown)."""
    cur_d, cur_o = d.cur[di], o.cur[oi]
    known_cur = (cur_d != NONE) & (cur_o != NONE)
    same_cur = known_cur & (cur_d == cur_o)
    t_ok = (d.t[di] != NO_TIME) & (o.t[oi] != NO_TIME)
    lag = np.where(t_ok, (o.t[oi] - d.t[di]) / DAY, np.nan)
    date = np.where(t_ok, np.searchsorted(LAG_EDGES, np.nan_to_num(lag), side="right") + 1, 0)

    c_d, c_o = d.contact[di], o.contact[oi]
    k_d, k_o = d.company[di], o.company[oi]
    contact = (c_d != NONE) & (c_d == c_o)
    company = (k_d != NONE) & (k_d == k_o)
    comparable = ((c_d != NONE) & (c_o != NONE)) | ((k_d != NONE) & (k_o != NONE))
    client = np.select([contact, company, comparable], [1, 2, 3], 0)

    u_d = d.user[di]
    resp = np.select([(u_d != NONE) & (u_d == o.user[oi]), (u_d != NONE) & (u_d == o.user2[oi]),
                      (u_d != NONE) & ((o.user[oi] != NONE) | (o.user2[oi] != NONE))],
                     [1, 2, 3], 0)

    email_eq, email_both = _any_equal(d.email_code[di], o.email_code[oi])
    phone_eq, phone_both = _any_equal(d.phone_code[di], o.phone_code[oi])
    ref_eq, ref_both = _any_equal(d.ref_code[di], o.ref_code[oi])
    name = _names(d.name_tok[di], o.name_tok[oi])
    out = {
        "amount": _amount(d.amount[di], o.amount[oi], same_cur),
        "currency": np.where(known_cur, np.where(same_cur, 1, 2), 0).astype(np.int8),
        "client": client.astype(np.int8),
        "email": _three(email_eq, email_both),
        "phone": _three(phone_eq, phone_both),
        "name": name,
        "number": _three(ref_eq, ref_both),
        "date": date.astype(np.int8),
        "responsible": resp.astype(np.int8),
    }
    out["customer"] = _customer(out)
    return out, lag


def _customer(lv: dict[str, np.ndarray]) -> np.ndarray:
    strong = (lv["email"] == 1) | (lv["phone"] == 1)
    ident = (lv["client"] == 1) | (lv["client"] == 2)
    name = lv["name"]
    known = (lv["email"] > 0) | (lv["phone"] > 0) | (lv["client"] > 0) | (name > 0)
    return np.select([strong & (ident | (name == 1)), strong, ident & (name == 1), ident,
                      name == 1, name == 2, known], [1, 2, 3, 4, 5, 6, 7], 0).astype(np.int8)


def tf_keys(d: Side, o: Side, oi: np.ndarray, lv: dict[str, np.ndarray]
            ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per TF comparison: (pair positions that agree, the shared value's key).

    The key names the value in :func:`order_values`' table, so the caller can count how many
    orders carry it: amount → (currency, amount in cents); customer → the order's contact or
    company id, else its e-mail, else its phone, else its first name token — the strongest
    thing the pair shares.
    """
    pos = np.flatnonzero(lv["amount"] == 1)
    out = {"amount": (pos, _amount_key(o, oi[pos]))}
    pos = np.flatnonzero(np.isin(lv["customer"], TF_LEVELS["customer"]))
    out["customer"] = pos, _customer_key(o, oi[pos], {k: v[pos] for k, v in lv.items()})
    return out


def _amount_key(o: Side, rows: np.ndarray) -> np.ndarray:
    return o.cur[rows] * np.int64(1 << 40) + np.round(o.amount[rows] * 100).astype(np.int64)


_KIND = np.int64(1 << 40)  # key = kind * 2**40 + value: one table for the customer's keys


def _customer_key(o: Side, rows: np.ndarray, lv: dict[str, np.ndarray]) -> np.ndarray:
    return np.select(
        [lv["client"] == 1, lv["client"] == 2, lv["email"] == 1, lv["phone"] == 1],
        [o.contact[rows], _KIND + o.company[rows], 2 * _KIND + o.email_code[rows, 0],
         3 * _KIND + o.phone_code[rows, 0]], 4 * _KIND + o.name_tok[rows, 0])


def order_values(o: Side) -> dict[str, np.ndarray]:
    """Every order's value per TF comparison, keyed as :func:`tf_keys` keys them."""
    rows = np.arange(len(o.ids))
    ok = (o.cur != NONE) & np.isfinite(o.amount) & (o.amount > 0)
    cust = np.concatenate([
        o.contact[o.contact != NONE], _KIND + o.company[o.company != NONE],
        2 * _KIND + o.email_code[o.email_code[:, 0] != 0, 0],
        3 * _KIND + o.phone_code[o.phone_code[:, 0] != 0, 0],
        4 * _KIND + o.name_tok[o.name_tok[:, 0] != 0, 0]])
    return {"amount": _amount_key(o, rows[ok]), "customer": cust}
