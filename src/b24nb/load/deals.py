"""``load_deals``: CRM deals as a typed DataFrame, with each deal's contact beside it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from b24nb.errors import PortalError
from b24nb.load._batch import BATCH_SIZE, chunks, run_batched
from b24nb.load._convert import STRING, digits, lower_email, typed_frame
from b24nb.load._fields import check_fields, field_infos, kind_of

__all__ = ["CONTACT_COLUMNS", "DEFAULT_DEAL_SELECT", "load_deals"]

#: What ``load_deals`` asks for when no ``select`` is given: what matching and review need.
DEFAULT_DEAL_SELECT: tuple[str, ...] = (
    "ID", "TITLE", "STAGE_ID", "CATEGORY_ID", "OPPORTUNITY", "CURRENCY_ID", "CONTACT_ID",
    "COMPANY_ID", "ASSIGNED_BY_ID", "DATE_CREATE", "DATE_MODIFY", "CLOSEDATE", "CLOSED",
)  # fmt: skip

CONTACT_COLUMNS: tuple[str, ...] = (
    "contact_name", "contact_email", "contact_emails", "contact_phone", "contact_phones",
)  # fmt: skip

_CONTACT_SELECT = ["ID", "NAME", "SECOND_NAME", "LAST_NAME", "EMAIL", "PHONE"]
_WILDCARDS = ("*", "UF_*")


def load_deals(
    portal: Any,
    filter: Mapping[str, Any] | None = None,
    select: Sequence[str] | None = None,
    contacts: bool = True,
    progress: bool = True,
    cache: bool | str = False,
) -> pd.DataFrame:
    """Load CRM deals into a DataFrame indexed by ``deal_id``, typed from ``crm.deal.fields``.

    Why typed here: ``crm.deal.list`` sends every scalar as a string (``"19999.99"``,
    ``"Y"``, ``"2024-09-02T18:37:18+02:00"``); matching and sorting need numbers, flags and
    UTC datetimes, and the portal's own field metadata says which is which.

    Parameters
    ----------
    portal : Portal
        From :func:`b24nb.connect`.
    filter : mapping, optional
        A ``crm.deal.list`` filter, passed through unchanged (``{">=DATE_CREATE":
        "2025-01-01", "STAGE_ID": "WON"}``).
    select : sequence of str, optional
        Field names (``"*"`` and ``"UF_*"`` allowed). Default :data:`DEFAULT_DEAL_SELECT`.
    contacts : bool
        Add ``contact_name``, ``contact_email`` (first, lower-case), ``contact_emails``
        (all, ``;``-joined), ``contact_phone`` (first, digits only) and ``contact_phones``
        from ``crm.contact.list`` for the distinct ``CONTACT_ID`` values (50 ids per command,
        50 commands per request). ``CONTACT_ID`` is then always selected.
    progress : bool
        Show progress bars.
    cache : bool or "refresh"
        Keep the frame on disk and, next time with the same arguments, read only the deals
        modified since (``>=DATE_MODIFY``), the contacts modified since, and the ids to drop
        deleted deals (:mod:`b24nb.load.cache`); ``"refresh"`` forces a full load. What was
        done is in ``frame.attrs["b24nb_cache"]``.

    Returns
    -------
    pandas.DataFrame
        Columns keep the portal's names (``TITLE``, ``OPPORTUNITY``…): integers ``Int64``,
        money ``float64``, datetimes ``datetime64[ns, UTC]``, Y/N ``boolean``, text
        ``string``; empty values are NA.

    Raises
    ------
    b24nb.errors.FieldError
        A ``select`` or ``filter`` field the portal does not know (the portal itself would
        silently ignore it), before any list request.
    b24nb.errors.ListIncompleteError
        The listing stopped part-way.

    Examples
    --------
    >>> deals = b24nb.load_deals(portal, filter={"CURRENCY_ID": "EUR"})  # doctest: +SKIP
    >>> deals[["TITLE", "OPPORTUNITY", "contact_email"]].head()  # doctest: +SKIP
    """
    if isinstance(select, str):  # select="TITLE" means one field, not five letters
        select = [select]
    if cache:
        return _cached(portal, filter, select, contacts, progress, cache)
    infos = field_infos(portal, "crm.deal.fields")
    if select is None:
        wanted = [f for f in DEFAULT_DEAL_SELECT if not infos or f in infos]
    else:
        # The legacy CRM layer upper-cases names ("title" works); columns use the real name.
        upper = {k.upper(): k for k in infos}
        wanted = [upper.get(str(f).upper(), str(f)) for f in select]
    check_fields("crm.deal.list", infos, select=wanted, filter=filter, wildcards=_WILDCARDS,
                 ignore_case=True)

    request = _dedupe(["ID", *wanted, *(["CONTACT_ID"] if contacts else [])])
    params: dict[str, Any] = {"select": request}
    if filter:
        params["filter"] = dict(filter)
    # one spare request within the budget (⌈N/2500⌉ + 3 with the fields call): when the walk
    # fits the bucket's burst it cuts every batch shorter, and the contacts, which wait for
    # the deals, start sooner
    rows = list(portal.list("crm.deal.list", params, progress=progress, spare=1))

    columns = _expand(request, infos, rows)
    deals = typed_frame(rows, columns, infos, id_field="ID", index_name="deal_id")
    del rows
    if contacts:
        people = _contacts(portal, deals["CONTACT_ID"], progress=progress)
        # A left merge keeps the deals' row order; take the columns by position so the
        # result does not depend on which index pandas gives the merged frame.
        joined = deals[["CONTACT_ID"]].merge(people, how="left", left_on="CONTACT_ID",
                                             right_index=True)
        for name in CONTACT_COLUMNS:
            deals[name] = pd.array(joined[name].to_numpy(dtype=object, na_value=None),
                                   dtype=STRING)
    return deals


def _cached(portal: Any, filter: Mapping[str, Any] | None, select: Sequence[str] | None,
            contacts: bool, progress: bool, cache: bool | str) -> pd.DataFrame:
    """``load_deals`` through :func:`b24nb.load.cache.warm_load`."""
    from b24nb.load.cache import Listing, warm_load

    flt = dict(filter or {})

    def load(f: Mapping[str, Any]) -> pd.DataFrame:
        return load_deals(portal, f or None, select, contacts, progress)

    def refresh(kept: pd.DataFrame, mark: str) -> pd.DataFrame:
        # a contact's edit leaves its deals' DATE_MODIFY alone: re-join the edited contacts
        if not contacts or not len(kept):
            return kept
        edited = {int(r["ID"]) for r in portal.list(
            "crm.contact.list", {"select": ["ID"], "filter": {">=DATE_MODIFY": mark}},
            progress=False)}
        hit = kept["CONTACT_ID"].isin(edited).fillna(False).to_numpy(dtype=bool)
        if not hit.any():
            return kept
        people = _contacts(portal, kept.loc[hit, "CONTACT_ID"], progress=False)
        joined = kept.loc[hit, ["CONTACT_ID"]].merge(people, how="left", left_on="CONTACT_ID",
                                                     right_index=True)
        kept = kept.copy()
        for name in CONTACT_COLUMNS:
            kept.loc[hit, name] = pd.array(joined[name].to_numpy(dtype=object, na_value=None),
                                           dtype=STRING)
        return kept

    return warm_load(portal, "deals", {"filter": flt, "select": select, "contacts": contacts},
                     cache, load=load, flt=flt, refresh=refresh,
                     listing=Listing("crm.deal.list", "ID", "DATE_MODIFY"))


def _dedupe(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _expand(request: Sequence[str], infos: Mapping[str, Any], rows: Sequence[Mapping]) -> list:
    """Columns of the frame: wildcards replaced by the fields they stand for."""
    out: list[str] = []
    for name in request:
        if name == "*":
            out.extend(k for k, m in infos.items() if not k.startswith("UF_")
                       and kind_of(m) != "object")
        elif name == "UF_*":
            out.extend(k for k in infos if k.startswith("UF_"))
        else:
            out.append(name)
    if any(w in request for w in _WILDCARDS) and rows:
        out.extend(rows[0].keys())  # whatever else the portal chose to send
    return _dedupe(out)


def _contacts(portal: Any, contact_ids: pd.Series, *, progress: bool) -> pd.DataFrame:
    """Name, e-mails and phones of the given contacts, indexed by contact id (Int64)."""
    ids = sorted(i for i in (int(v) for v in contact_ids.dropna().unique()) if i > 0)
    # One command asks for 50 ids, the most one page (start=-1, no count) can return, so
    # 2,500 contacts per request — crm.contact.list pages cannot be longer.
    asked = {f"c{n}": set(chunk) for n, chunk in enumerate(chunks(ids, BATCH_SIZE))}
    commands = (
        (key, ("crm.contact.list",
               {"filter": {"@ID": sorted(chunk)}, "select": _CONTACT_SELECT, "start": -1}))
        for key, chunk in asked.items()
    )
    n_commands = -(-len(ids) // BATCH_SIZE)
    # Flattening the nested multifields is the one per-record loop; everything after is
    # column-wise.
    cid: list[Any] = []
    names: list[str] = []
    mail_owner: list[Any] = []
    mails: list[Any] = []
    phone_owner: list[Any] = []
    phones: list[Any] = []
    for key, result in run_batched(portal, commands, n_commands, desc="crm.contact.list",
                                   progress=progress):
        records = _records(result)
        strays = {str(c.get("ID")) for c in records} - {str(i) for i in asked[key]}
        if strays:
            # the @ID filter was not applied (a portal that drops the key): the page holds
            # other contacts, and the ones asked for would silently come out empty
            raise PortalError("CONTACT_FILTER_IGNORED", "crm.contact.list answered contacts "
                              f"that were not asked for ({len(strays)} of {len(records)}); "
                              "the @ID filter was not applied", method="crm.contact.list")
        for c in records:
            i = c.get("ID")
            cid.append(i)
            names.append(" ".join(str(c[k]).strip() for k in ("NAME", "SECOND_NAME", "LAST_NAME")
                                  if c.get(k) not in (None, "")))
            for m in c.get("EMAIL") or ():
                mail_owner.append(i)
                mails.append(m.get("VALUE") if isinstance(m, Mapping) else m)
            for p in c.get("PHONE") or ():
                phone_owner.append(i)
                phones.append(p.get("VALUE") if isinstance(p, Mapping) else p)

    index = pd.Index(pd.array(pd.to_numeric(pd.Series(cid, dtype=object)), dtype="Int64"))
    people = pd.DataFrame({"contact_name": pd.array(names, dtype=STRING)}, index=index)
    people["contact_name"] = people["contact_name"].where(people["contact_name"] != "")
    for prefix, owners, values, norm in (("contact_email", mail_owner, mails, lower_email),
                                         ("contact_phone", phone_owner, phones, digits)):
        first, joined = _first_and_all(owners, values, norm)
        people[prefix] = first.reindex(index).astype(STRING)
        people[prefix + "s"] = joined.reindex(index).astype(STRING)
    people = people[~people.index.duplicated()]
    return people[list(CONTACT_COLUMNS)]


def _first_and_all(owners: list, values: list, norm: Any) -> tuple[pd.Series, pd.Series]:
    """Per owner: the first normalised value, and all of them ``;``-joined (duplicates out)."""
    s = norm(pd.Series(values, dtype=object))
    frame = pd.DataFrame({"owner": pd.array(pd.to_numeric(pd.Series(owners, dtype=object)),
                                            dtype="Int64"), "v": s})
    frame = frame.dropna().drop_duplicates()
    grouped = frame.groupby("owner", sort=False)["v"]
    return grouped.first(), grouped.agg(";".join)


def _records(result: Any) -> list[Mapping[str, Any]]:
    if isinstance(result, list):
        return result
    if isinstance(result, Mapping):  # tolerate {"items": [...]}-style wrappers
        for value in result.values():
            if isinstance(value, list):
                return value
    return []
