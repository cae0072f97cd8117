"""Check the input frames and turn them into flat numpy arrays the matcher works on.

Why arrays: every later step (blocking, scoring, assignment) is a handful of vectorised
operations over index arrays into these columns; pandas objects per pair would cost seconds
at 100,000 × 120,000.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from b24nb.errors import ValidationError
from b24nb.match._refs import order_keys, title_refs

__all__ = ["Side", "prepare"]

NONE = -1  # "no value" in integer id arrays
NO_TIME = np.iinfo(np.int64).min

# deals / orders: required columns and what kind each must be
DEAL_REQUIRED = {"OPPORTUNITY": "number", "CURRENCY_ID": "text", "DATE_CREATE": "datetime"}
DEAL_OPTIONAL = {"TITLE": "text", "CONTACT_ID": "integer", "COMPANY_ID": "integer",
                 "ASSIGNED_BY_ID": "integer", "contact_name": "text", "contact_email": "text",
                 "contact_emails": "text", "contact_phone": "text", "contact_phones": "text"}
ORDER_REQUIRED = {"price": "number", "currency": "text", "dateInsert": "datetime"}
ORDER_OPTIONAL = {"accountNumber": "text", "responsibleId": "integer", "userId": "integer",
                  "contact_id": "integer",
                  "company_id": "integer", "customer_name": "text", "customer_email": "text",
                  "customer_phone": "text"}
BINDING_REQUIRED = {"owner_id": "integer", "owner_type_id": "integer"}

_CYR = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґәғқңөұүһ"
_LAT = ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
        "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
        "i", "i", "e", "g", "a", "g", "k", "n", "o", "u", "u", "h"]
# Names compare across scripts ("Иван Петров" = "Ivan Petrov"): both sides go to Latin.
_TRANSLIT = str.maketrans(dict(zip(_CYR, _LAT, strict=True)))
NAME_TOKENS = 3  # tokens kept per name
_TOKEN_PREFIX = 5  # "petrov"/"petrova", "aleksey"/"alexey" → same key


@dataclass
class Side:
    """One side (deals or orders) as arrays; row ``i`` is the frame's ``i``-th row."""

    ids: np.ndarray  # int64
    amount: np.ndarray  # float64, NaN = unknown
    cur: np.ndarray  # int64 code shared by both sides, NONE = unknown
    t: np.ndarray  # int64 seconds since epoch (UTC), NO_TIME = unknown
    contact: np.ndarray  # int64, NONE = unknown
    company: np.ndarray
    user: np.ndarray  # ASSIGNED_BY_ID / responsibleId
    user2: np.ndarray  # orders: userId (also an employee, research §10); deals: NONE
    name_tok: np.ndarray  # (n, NAME_TOKENS) int32, 0 = no token
    emails: pd.DataFrame  # columns row (int64), key (str): one row per e-mail
    phones: pd.DataFrame  # one row per phone (last 10 digits)
    text: pd.Series  # deals: TITLE; orders: accountNumber (string dtype, "" when missing)
    # (n, CODES) int32 codes shared by both sides, 0 = none: compare any pair without a join
    email_code: np.ndarray | None = None
    phone_code: np.ndarray | None = None
    ref_code: np.ndarray | None = None  # deals: order references in the title; orders: number
    kind: np.ndarray | None = None  # deals side: owner type (2 deal, 31/5 invoices)
    # the same values as (row, key) tables with integer keys, for the blocking joins
    email_tab: pd.DataFrame | None = None
    phone_tab: pd.DataFrame | None = None
    ref_tab: pd.DataFrame | None = None


def _kind_ok(s: pd.Series, kind: str) -> bool:
    if kind == "number":
        return ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s)
    if kind == "integer":  # float ids (a column that once held NaN) are fine if whole
        if ptypes.is_float_dtype(s):
            v = s.dropna().to_numpy()
            return bool(np.all(v == np.round(v)))
        return ptypes.is_integer_dtype(s) or bool(s.isna().all())
    if kind == "datetime":
        return ptypes.is_datetime64_any_dtype(s)
    return ptypes.is_string_dtype(s) or ptypes.is_object_dtype(s) or s.isna().all()


def check(frame: object, what: str, required: dict[str, str], optional: dict[str, str],
          unique: bool = True) -> None:
    """Raise :class:`ValidationError` naming every missing column and wrong dtype at once."""
    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    problems = [f"missing column {c!r} ({k})" for c, k in required.items()
                if c not in frame.columns]
    # A frame with no rows carries no dtypes worth checking (pd.DataFrame(columns=[...])).
    for col, kind in {**required, **optional}.items() if len(frame) else ():
        if col in frame.columns and not _kind_ok(frame[col], kind):
            problems.append(f"column {col!r} has dtype {frame[col].dtype}, expected {kind}")
    if len(frame) and not ptypes.is_integer_dtype(frame.index):
        problems.append(f"index has dtype {frame.index.dtype}, expected integer ids (Int64)")
    elif len(frame) and frame.index.hasnans:
        problems.append("index has missing ids")
    elif unique and not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()].unique()[:5].tolist()
        problems.append(f"index has duplicate ids, e.g. {dup}")
    if problems:
        raise ValidationError(f"{what} frame is not usable for matching", problems)


def _ints(frame: pd.DataFrame, col: str) -> np.ndarray:
    if col not in frame.columns:
        return np.full(len(frame), NONE, dtype=np.int64)
    return pd.to_numeric(frame[col]).astype("Float64").astype("Int64").fillna(NONE).to_numpy(
        np.int64)


def _texts(frame: pd.DataFrame, col: str) -> pd.Series:
    """The column as Arrow-backed strings ("" when missing): their str methods are vectorised."""
    if col not in frame.columns:
        return pd.Series([""] * len(frame), dtype="string")
    return frame[col].astype("string").fillna("").str.strip().reset_index(drop=True)


def _seconds(s: pd.Series) -> np.ndarray:
    if getattr(s.dt, "tz", None) is None:  # naive: read as UTC
        s = s.dt.tz_localize("UTC")
    v = s.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").to_numpy("datetime64[s]")
    out = v.astype(np.int64)
    out[np.isnat(v)] = NO_TIME
    return out


def _normalise(s: pd.Series, norm: str) -> pd.Series:
    s = s.str.strip()
    if norm == "email":
        s = s.str.lower()
        return s[s.str.contains("@", regex=False, na=False)]
    # phone: the last 10 digits survive every way of writing a country prefix
    s = s.str.replace(r"\D+", "", regex=True).str[-10:]
    return s[s.str.len() >= 7]


def _multi(frame: pd.DataFrame, many: str, one: str, norm: str) -> pd.DataFrame:
    """Explode ``;``-joined values into (row, key) pairs, normalised for equality.

    Most rows hold one value: those are normalised in one vectorised pass (Arrow strings);
    only the rows with several values are split.
    """
    cols = [c for c in (many, one) if c in frame.columns]
    if not cols or not len(frame):
        return pd.DataFrame({"row": np.zeros(0, np.int64), "key": pd.array([], dtype="string")})
    s = frame[cols[0]].astype("string").reset_index(drop=True)
    if len(cols) == 2:  # the joined list when present, else the single value
        s = s.fillna(frame[cols[1]].astype("string").reset_index(drop=True))
    s = s[s.notna() & (s != "")]
    several = s.str.contains(";", regex=False).to_numpy(bool)
    one_value = _normalise(s[~several], norm)
    split = s[several].str.split(";").explode().astype("string")
    parts = [one_value, _normalise(split, norm)] if len(split) else [one_value]
    both = pd.concat(parts)
    # keys stay Arrow strings: turning them into Python objects costs more than the rest
    out = pd.DataFrame({"row": both.index.to_numpy(np.int64), "key": both.array})
    return out.drop_duplicates(ignore_index=True) if several.any() else out


def _name_tokens(names: pd.Series) -> pd.Series:
    """Name tokens per row (Latin, lower-case, prefix-cut), exploded; index = row.

    Worked out once per distinct name (customers repeat), then spread back to the rows.
    """
    codes, uniques = pd.factorize(names.reset_index(drop=True))
    latin = pd.Series(uniques, dtype=object).str.lower().str.translate(_TRANSLIT)
    toks = latin.str.findall(r"[a-z]{2,}").explode().dropna().str[:_TOKEN_PREFIX]
    if not len(toks):
        return pd.Series([], dtype=object)
    # rows of each distinct name, joined to that name's tokens
    rows = pd.DataFrame({"u": codes, "row": np.arange(len(codes))})
    rows = rows[rows["u"] >= 0]
    tok = pd.DataFrame({"u": toks.index.to_numpy(np.int64), "tok": toks.to_numpy(object),
                        "k": toks.groupby(level=0).cumcount().to_numpy()})
    m = rows.merge(tok, on="u").sort_values(["row", "k"], kind="stable")
    return pd.Series(m["tok"].to_numpy(object), index=m["row"].to_numpy(np.int64))


def _token_matrix(toks: pd.Series, codes: np.ndarray, n: int) -> np.ndarray:
    """Up to three token codes per row (1-based; 0 = none)."""
    out = np.zeros((n, NAME_TOKENS), dtype=np.int32)
    if not len(toks):
        return out
    rows = toks.index.to_numpy(np.int64)
    pos = pd.Series(rows).groupby(rows).cumcount().to_numpy()
    keep = pos < NAME_TOKENS
    out[rows[keep], pos[keep]] = codes[keep] + 1
    return out


def _side(frame: pd.DataFrame, cols: dict[str, str], cur_codes: dict[str, int]) -> Side:
    cur = frame[cols["cur"]].astype("string").str.strip().str.upper().fillna("")
    return Side(
        ids=frame.index.to_numpy(np.int64),
        amount=pd.to_numeric(frame[cols["amount"]]).astype("float64").to_numpy(),
        # an Index look-up, not Series.map: map walks Arrow strings one by one
        cur=pd.Index(list(cur_codes)).get_indexer(cur).astype(np.int64),
        t=_seconds(frame[cols["t"]]),
        contact=_ints(frame, cols["contact"]),
        company=_ints(frame, cols["company"]),
        user=_ints(frame, cols["user"]),
        user2=_ints(frame, cols["user2"]),
        name_tok=np.zeros((len(frame), NAME_TOKENS), dtype=np.int32),
        emails=_multi(frame, cols["emails"], cols["email"], "email"),
        phones=_multi(frame, cols["phones"], cols["phone"], "phone"),
        text=_texts(frame, cols["text"]),
    )


DEAL_COLS = {"amount": "OPPORTUNITY", "cur": "CURRENCY_ID", "t": "DATE_CREATE",
             "contact": "CONTACT_ID", "company": "COMPANY_ID", "user": "ASSIGNED_BY_ID",
             "user2": "-",
             "name": "contact_name", "emails": "contact_emails", "email": "contact_email",
             "phones": "contact_phones", "phone": "contact_phone", "text": "TITLE"}
ORDER_COLS = {"amount": "price", "cur": "currency", "t": "dateInsert", "contact": "contact_id",
              "company": "company_id", "user": "responsibleId", "user2": "userId",
              "name": "customer_name",
              "emails": "-", "email": "customer_email", "phones": "-", "phone": "customer_phone",
              "text": "accountNumber"}


CODES = 3  # values kept per row for e-mails, phones and title references


def _codes(a: pd.DataFrame, b: pd.DataFrame, na: int, nb: int
           ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """(row, key) tables of both sides → (n, CODES) int32 code matrices (0 = none), and the
    tables with integer keys (joins on integers are several times faster than on strings)."""
    keys = pd.concat([a["key"], b["key"]], ignore_index=True)
    codes, _ = pd.factorize(keys)
    codes = codes.astype(np.int64) + 1
    out: list = []
    tabs = []
    for table, n, c in ((a, na, codes[:len(a)]), (b, nb, codes[len(a):])):
        m = np.zeros((n, CODES), dtype=np.int32)
        rows = table["row"].to_numpy(np.int64)
        if len(rows):
            pos = pd.Series(rows).groupby(rows).cumcount().to_numpy()
            keep = pos < CODES
            m[rows[keep], pos[keep]] = c[keep]
        out.append(m)
        tabs.append(pd.DataFrame({"row": rows, "key": c}))
    return out[0], out[1], tabs[0], tabs[1]


def prepare(deals: pd.DataFrame, orders: pd.DataFrame) -> tuple[Side, Side]:
    """Validated deals and orders as :class:`Side` arrays sharing currency and name codes."""
    check(deals, "deals", DEAL_REQUIRED, DEAL_OPTIONAL)
    check(orders, "orders", ORDER_REQUIRED, ORDER_OPTIONAL)
    currencies = pd.concat([deals["CURRENCY_ID"].astype("string"),
                            orders["currency"].astype("string")]).str.strip().str.upper()
    # the distinct values first: a set() of the column walks every Arrow string one by one
    distinct = set(currencies.dropna().unique().tolist()) - {""}
    cur_codes = {c: i for i, c in enumerate(sorted(distinct))}
    # The deals' side on a second thread while this one does the orders': most of the work
    # is Arrow string kernels and NumPy, which let go of the interpreter lock.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="b24nb-prepare") as pool:
        deal_side = pool.submit(_deal_side, deals, cur_codes)
        o = _side(orders, ORDER_COLS, cur_codes)
        to = _name_tokens(_texts(orders, "customer_name"))
        order_refs = order_keys(o.text)
        d, td, deal_refs = deal_side.result()
    codes, _ = pd.factorize(pd.concat([td, to], ignore_index=True))
    d.name_tok = _token_matrix(td, codes[:len(td)], len(d.ids))
    o.name_tok = _token_matrix(to, codes[len(td):], len(o.ids))
    n_d, n_o = len(d.ids), len(o.ids)
    d.email_code, o.email_code, d.email_tab, o.email_tab = _codes(d.emails, o.emails, n_d, n_o)
    d.phone_code, o.phone_code, d.phone_tab, o.phone_tab = _codes(d.phones, o.phones, n_d, n_o)
    d.ref_code, o.ref_code, d.ref_tab, o.ref_tab = _codes(deal_refs, order_refs, n_d, n_o)
    return d, o


def _deal_side(deals: pd.DataFrame, cur_codes: dict[str, int]
               ) -> tuple[Side, pd.Series, pd.DataFrame]:
    """The deals' :class:`Side`, name tokens and title references (see :func:`prepare`)."""
    d = _side(deals, DEAL_COLS, cur_codes)
    # A deal without a contact name often names the customer in its title ("… — Петров").
    names = _texts(deals, "contact_name")
    names = names.where(names != "", _texts(deals, "TITLE"))
    return d, _name_tokens(names), title_refs(d.text)
