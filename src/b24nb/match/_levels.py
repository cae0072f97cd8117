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

from b24nb.match._prep import NO_TIME, NONE, Side
from b24nb.pairs import COMPARED, WEIGHED

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
#: the comparisons the model weighs (the others are shown, and feed "customer"): the contract's
COMPARISONS = WEIGHED
if tuple(LEVELS) != COMPARED or not set(WEIGHED) <= set(LEVELS):
    raise ImportError("match levels and the pairs contract (b24nb.pairs) name other comparisons")
#: lag bin edges in days (order date minus deal date), between levels 1 … 12 of "date"
LAG_EDGES = np.array([-30, -10, -3, -1, -1 / 24, 1 / 24, 1, 3, 10, 30, 90], dtype=np.float64)
#: levels whose weight is adjusted for how common the shared value is (term frequency)
TF_LEVELS: dict[str, tuple[int, ...]] = {"amount": (1,), "customer": (1, 2, 3, 4, 5)}


def _columns(m: np.ndarray, rows: np.ndarray, none: int) -> list[np.ndarray]:
    """The used columns of a code matrix, gathered at ``rows``, 0 replaced by ``none``.

    Gathering column by column (and skipping empty ones: orders carry one e-mail) is several
    times cheaper than gathering whole rows; a distinct "none" per side (0 and −1) makes
    ``a == b`` mean "same value" without a second mask.
    """
    out = []
    for j in range(m.shape[1]):
        col = m[:, j]
        if not col.any():
            continue
        if none:
            col = np.where(col == 0, none, col)
        out.append(col[rows])
    return out


def _any_equal(a: np.ndarray, b: np.ndarray, di: np.ndarray, oi: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """For code matrices of both sides: (some code equal, both sides have a code)."""
    eq = np.zeros(len(di), dtype=bool)
    cols_b = _columns(b, oi, -1)
    for ai in _columns(a, di, 0):
        for bj in cols_b:
            eq |= ai == bj
    both = (a[:, 0] != 0)[di] & (b[:, 0] != 0)[oi]
    return eq, both


def _three(eq: np.ndarray, both: np.ndarray) -> np.ndarray:
    out = (2 - eq).astype(np.int8)
    out[~both] = 0
    return out


def _amount(a: np.ndarray, p: np.ndarray, same_cur: np.ndarray) -> np.ndarray:
    diff = np.abs(a - p)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = diff / np.maximum(a, p)
    # 6 "different", one less for each band the relative difference falls in: 2 … 6
    lvl = np.full(len(a), 6, dtype=np.int8)
    for band in (0.25, 0.10, 0.03, 0.005):
        lvl -= rel <= band
    lvl[diff <= 0.005] = 1
    far = np.flatnonzero(lvl == 6)
    af, pf = a[far], p[far]
    lvl[far[(np.abs(af / 2 - pf) <= 0.01) | (np.abs(af / 3 - pf) <= 0.01)]] = 7
    # a zero amount is "not filled in" on most portals; other currencies do not compare
    ok = same_cur & np.isfinite(diff) & (a > 0) & (p > 0)
    lvl[~ok] = 0
    return lvl


def _names(a: np.ndarray, b: np.ndarray, di: np.ndarray, oi: np.ndarray) -> np.ndarray:
    """Name level: every token of the shorter name in the other, some, none (or n/a)."""
    hits = np.zeros(len(di), dtype=np.int8)
    cols_b = _columns(b, oi, -1)
    for ai in _columns(a, di, 0):
        for bj in cols_b:
            hits += ai == bj
    na = (a != 0).sum(axis=1).astype(np.int8)[di]
    nb = (b != 0).sum(axis=1).astype(np.int8)[oi]
    full = hits >= np.minimum(na, nb)
    lvl = np.where(hits == 0, 3, np.where(full & ((np.maximum(na, nb) > 1) | (na == nb)), 1, 2))
    return np.where((na > 0) & (nb > 0), lvl, 0).astype(np.int8)


def _ladder(n: int, *steps: np.ndarray) -> np.ndarray:
    """Level = 1 + the index of the first true mask of ``steps`` (0 when none): np.select's
    answer, by masked assignment from the last step back (several times cheaper)."""
    out = np.zeros(n, dtype=np.int8)
    for k in range(len(steps), 0, -1):
        out[steps[k - 1]] = k
    return out


#: pairs compared at a time: each step's temporaries (a dozen arrays of this many values) stay
#: small enough for the allocator to reuse, instead of fresh memory for all pairs at once
CHUNK = 1 << 17


def levels(d: Side, o: Side, di: np.ndarray, oi: np.ndarray
           ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Level per comparison (int8 arrays) and the lag in days (NaN when unknown).

    Worked out :data:`CHUNK` pairs at a time into arrays for all of them: the same answer as
    one pass, with a fraction of the memory touched (a first call in a fresh process pays
    for every new page it touches).
    """
    n = len(di)
    if n <= CHUNK:
        return _levels(d, o, di, oi)
    out: dict[str, np.ndarray] = {}
    lag = np.empty(n, dtype=np.float64)
    for start in range(0, n, CHUNK):
        part, part_lag = _levels(d, o, di[start:start + CHUNK], oi[start:start + CHUNK])
        for name, values in part.items():
            if name not in out:
                out[name] = np.empty(n, dtype=values.dtype)
            out[name][start:start + len(values)] = values
        lag[start:start + len(part_lag)] = part_lag
    return out, lag


def _levels(d: Side, o: Side, di: np.ndarray, oi: np.ndarray
            ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    n = len(di)
    cur_d, cur_o = d.cur[di], o.cur[oi]
    known_cur = (cur_d != NONE) & (cur_o != NONE)
    same_cur = known_cur & (cur_d == cur_o)
    t_d, t_o = d.t[di], o.t[oi]
    t_ok = (t_d != NO_TIME) & (t_o != NO_TIME)
    lag = (t_o - t_d) / DAY
    lag[~t_ok] = np.nan
    date = np.ones(n, dtype=np.int8)  # 1 + the number of edges at or below the lag
    for edge in LAG_EDGES:
        date += lag >= edge
    date[~t_ok] = 0

    c_d, c_o = d.contact[di], o.contact[oi]
    k_d, k_o = d.company[di], o.company[oi]
    has_c = c_d != NONE
    has_k = k_d != NONE
    client = _ladder(n, has_c & (c_d == c_o), has_k & (k_d == k_o),
                     (has_c & (c_o != NONE)) | (has_k & (k_o != NONE)))
    u_d, u_o, u_o2 = d.user[di], o.user[oi], o.user2[oi]
    has_u = u_d != NONE
    resp = _ladder(n, has_u & (u_d == u_o), has_u & (u_d == u_o2),
                   has_u & ((u_o != NONE) | (u_o2 != NONE)))

    email_eq, email_both = _any_equal(d.email_code, o.email_code, di, oi)
    phone_eq, phone_both = _any_equal(d.phone_code, o.phone_code, di, oi)
    ref_eq, ref_both = _any_equal(d.ref_code, o.ref_code, di, oi)
    currency = np.where(same_cur, 1, 2).astype(np.int8)
    currency[~known_cur] = 0
    out = {
        "amount": _amount(d.amount[di], o.amount[oi], same_cur),
        "currency": currency,
        "client": client,
        "email": _three(email_eq, email_both),
        "phone": _three(phone_eq, phone_both),
        "name": _names(d.name_tok, o.name_tok, di, oi),
        "number": _three(ref_eq, ref_both),
        "date": date,
        "responsible": resp,
    }
    out["customer"] = _customer(out)
    return out, lag


def _customer(lv: dict[str, np.ndarray]) -> np.ndarray:
    strong = (lv["email"] == 1) | (lv["phone"] == 1)
    ident = (lv["client"] == 1) | (lv["client"] == 2)
    name = lv["name"]
    known = (lv["email"] > 0) | (lv["phone"] > 0) | (lv["client"] > 0) | (name > 0)
    same_name = name == 1
    return _ladder(len(name), strong & (ident | same_name), strong, ident & same_name, ident,
                   same_name, name == 2, known)


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
