"""Clean-up after a move: auto-created deals left without orders, moved to a chosen stage.

Why: once orders are rebound from the duplicates ``sale.order.add`` created to the deals the
sales team worked on, the duplicates are empty shells that clutter every funnel report.
Deleting them would be irreversible (and may hide a shell a colleague started using), so the
action only moves them to a stage the analyst picks (``crm.deal.update``), re-checks each
deal just before, journals every send and answer (:mod:`b24nb.journal.stages`), and can be
undone run by run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from b24nb.errors import PortalError, ValidationError
from b24nb.journal.stages import StageLog, stage_history
from b24nb.journal.store import Journal
from b24nb.linkage.frames import DEAL, auto_created_deals, gather

__all__ = ["empty_shells", "move_shells", "undo_shells"]

log = logging.getLogger(__name__)

_RESULT = ("from_stage", "to_stage", "status", "error", "message")


def empty_shells(source: Any = None, *, deals: pd.DataFrame | None = None,
                 orders: pd.DataFrame | None = None, bindings: pd.DataFrame | None = None,
                 auto_window_min: float = 60, untouched_seconds: float = 60,
                 progress: bool = False) -> pd.DataFrame:
    """List auto-created deals that hold no order and were never touched since creation.

    Parameters
    ----------
    source : Portal or mapping, optional
        Loaded from (read-only), as in :func:`b24nb.health`; or give the frames.
    deals, orders, bindings : DataFrame, optional
        ``deals`` needs ``TITLE``, ``DATE_CREATE`` and ``DATE_MODIFY``.
    auto_window_min : float
        Minutes after an order within which a deal titled after it counts as auto-created.
    untouched_seconds : float
        ``DATE_MODIFY`` at most this long after ``DATE_CREATE`` counts as untouched: a deal
        someone edited is not a shell to tidy away.

    Returns
    -------
    DataFrame
        Index ``deal_id``; ``TITLE``, ``STAGE_ID``, ``OPPORTUNITY``, ``CURRENCY_ID``,
        ``DATE_CREATE``, ``DATE_MODIFY``, ``auto_from_order`` (the order it was made for).
    """
    inputs = gather(source, deals=deals, orders=orders, bindings=bindings, invoices=[],
                    progress=progress)
    d = inputs.deals
    for col in ("TITLE", "DATE_CREATE", "DATE_MODIFY"):
        if col not in d.columns:
            raise ValidationError("empty_shells: the deals frame lacks a column",
                                  [f"missing column {col!r}"])
    auto = auto_created_deals(d, inputs.orders, auto_window_min)
    b = inputs.bindings
    held = set(b.loc[(b["owner_type_id"] == DEAL).fillna(False).to_numpy(bool),
                     "owner_id"].dropna().astype(int))
    age = (d["DATE_MODIFY"] - d["DATE_CREATE"]).dt.total_seconds()
    keep = (auto.notna() & ~d.index.isin(list(held)) & (age.abs() <= untouched_seconds)
            ).fillna(False).to_numpy(bool)
    cols = [c for c in ("TITLE", "STAGE_ID", "OPPORTUNITY", "CURRENCY_ID", "DATE_CREATE",
                        "DATE_MODIFY") if c in d.columns]
    out = d.loc[keep, cols].copy()
    out["auto_from_order"] = auto[keep]
    return out


def _stage(stage: Any) -> str:
    if not isinstance(stage, str) or not stage.strip():
        raise ValidationError("move_shells: stage must be a non-empty stage id string",
                              [f"stage={stage!r}"])
    return stage.strip()


def _ids(shells: Any) -> list[int]:
    if isinstance(shells, pd.DataFrame):
        values: Iterable[Any] = shells.index
    else:
        values = shells
    ids, bad = [], []
    for v in values:
        try:
            ok = int(v) > 0 and int(v) == v
        except (TypeError, ValueError):
            ok = False
        if ok:
            ids.append(int(v))
        else:
            bad.append(repr(v))
    if bad:
        raise ValidationError("move_shells: deal ids must be integers > 0; nothing was sent",
                              [f"bad deal id {b}" for b in bad])
    return list(dict.fromkeys(ids))


def _read(portal: Any, ids: list[int]) -> dict[int, tuple[dict | None, int | None]]:
    """Per deal: its current record (None if gone) and how many orders it holds now."""
    cmds = {}
    for i in ids:
        cmds[f"d{i}"] = ("crm.deal.get", {"id": i})
        cmds[f"o{i}"] = ("crm.orderentity.list", {"filter": {"ownerId": i, "ownerTypeId": DEAL},
                                                  "select": ["orderId"]})
    res = portal.batch(cmds) if cmds else {}
    out: dict[int, tuple[dict | None, int | None]] = {}
    for i in ids:
        deal, orders = res[f"d{i}"], res[f"o{i}"]
        if not orders.ok:
            raise orders.error
        rows = orders.result.get("orderEntity", []) if isinstance(orders.result, Mapping) else []
        out[i] = (deal.result if deal.ok else None, len(rows))
    return out


def _same_time(a: Any, b: Any) -> bool:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return False
    return abs((pd.Timestamp(a).tz_convert("UTC") - pd.Timestamp(b).tz_convert("UTC"))
               .total_seconds()) < 1


def _send(portal: Any, stage_log: StageLog, who: str, run_id: str, action: str,
          moves: dict[int, tuple[str, str]], result: dict[int, dict[str, Any]]) -> None:
    """Journal, send and answer ``crm.deal.update`` for ``{deal: (from, to)}``."""
    if not moves:
        return
    stage_log.append(who, run_id, "send", [
        {"action": action, "deal_id": i, "from_stage": f, "to_stage": t}
        for i, (f, t) in moves.items()])
    cmds = {f"u{i}": ("crm.deal.update", {"id": i, "fields": {"STAGE_ID": t}})
            for i, (_f, t) in moves.items()}
    try:
        res = portal.batch(cmds)
    except PortalError as exc:
        # the answer is unknown: the sends stay journaled without one; a rerun reads back
        for i, (f, t) in moves.items():
            result[i] = {"from_stage": f, "to_stage": t, "status": "pending",
                         "error": exc.code, "message": str(exc)}
        stage_log.append(who, run_id, "answer", [
            {"action": action, "deal_id": i, **result[i]} for i in moves])
        raise
    rows = []
    for i, (f, t) in moves.items():
        r = res[f"u{i}"]
        status = "moved" if r.ok and r.result is True else "failed"
        err = None if r.ok else r.error.code
        msg = None if r.ok else str(r.error)
        result[i] = {"from_stage": f, "to_stage": t, "status": status, "error": err,
                     "message": msg}
        rows.append({"action": action, "deal_id": i, **result[i]})
    stage_log.append(who, run_id, "answer", rows)


def _frame(result: dict[int, dict[str, Any]], run_id: str) -> pd.DataFrame:
    out = pd.DataFrame.from_dict(result, orient="index", columns=list(_RESULT))
    out.index = pd.Index(out.index.astype("Int64"), name="deal_id")
    out = out.astype(dict.fromkeys(_RESULT, "string"))
    out.attrs["run_id"] = run_id
    return out


def _identity(portal: Any) -> str:
    from b24nb.binding.identity import portal_identity

    return portal_identity(portal)


def move_shells(portal: Any, shells: pd.DataFrame | Iterable[int], stage: str, *,
                journal: Journal | str | os.PathLike[str] | None = None,
                dry_run: bool = False) -> pd.DataFrame:
    """Move empty auto-created deals to ``stage``; journaled, undoable, never deleting.

    Each deal is read again just before (``crm.deal.get`` and its bindings): one that holds
    an order now (``skipped_has_orders``), is already there (``already``: also what a rerun
    says after a send whose answer was lost), was modified since the shells were listed
    (``skipped_changed``, when ``shells`` has ``DATE_MODIFY``) or is gone
    (``skipped_missing``) is left alone. The rest get ``crm.deal.update`` with
    ``STAGE_ID``; each send is journaled before it goes and its answer after.

    Parameters
    ----------
    portal : Portal
    shells : DataFrame or iterable of int
        :func:`empty_shells` (or any deal ids).
    stage : str
        The target ``STAGE_ID`` (``"LOSE"``, ``"C2:JUNK"``…), the analyst's choice.
    journal : Journal or path, optional
        Where the stage log goes (the bindings journal's file by default).
    dry_run : bool
        Read and decide, send nothing (status ``dry_run``).

    Returns
    -------
    DataFrame
        Index ``deal_id``; ``from_stage``, ``to_stage``, ``status``, ``error``, ``message``;
        ``.attrs["run_id"]`` for :func:`undo_shells`.
    """
    stage = _stage(stage)
    ids = _ids(shells)
    seen = shells["DATE_MODIFY"] if isinstance(shells, pd.DataFrame) and \
        "DATE_MODIFY" in shells.columns else None
    with StageLog(journal) as stage_log:
        who = _identity(portal)
        run_id = stage_log.start_run(who, "move")
        now = _read(portal, ids)
        result: dict[int, dict[str, Any]] = {}
        moves: dict[int, tuple[str, str]] = {}
        for i in ids:
            deal, n_orders = now[i]
            cur = None if deal is None else deal.get("STAGE_ID")
            status = None
            if deal is None:
                status = "skipped_missing"
            elif n_orders:
                status = "skipped_has_orders"
            elif cur == stage:  # also a rerun after a send whose answer was lost
                status = "already"
            elif seen is not None and not _same_time(seen.get(i), deal.get("DATE_MODIFY")):
                status = "skipped_changed"
            elif dry_run:
                status = "dry_run"
            if status is None:
                moves[i] = (cur, stage)
            else:
                result[i] = {"from_stage": cur, "to_stage": stage, "status": status,
                             "error": None, "message": None}
        if result:
            stage_log.append(who, run_id, "answer", [
                {"action": "move", "deal_id": i, **r} for i, r in result.items()])
        _send(portal, stage_log, who, run_id, "move", moves, result)
    log.info("move_shells %s: %s", run_id, pd.Series([r["status"] for r in result.values()])
             .value_counts().to_dict())
    return _frame({i: result[i] for i in ids}, run_id)


def undo_shells(portal: Any, run_id: str, *,
                journal: Journal | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Put the deals a :func:`move_shells` run moved back to their stage before it.

    A deal whose stage is no longer the one that run set (someone moved it since) is left
    alone (``skipped_changed``). Sends of that run that got no answer are settled by reading
    the deal: if it is in the target stage, it moved, and is moved back. The portal sets
    ``DATE_MODIFY`` on every update, so it cannot be restored; the stage is.

    Returns
    -------
    DataFrame
        As :func:`move_shells`, for the undo run (``.attrs["run_id"]``).
    """
    moved = stage_history(journal, run_id=run_id)
    if not len(moved) or not (moved["action"] == "move").any():
        raise ValidationError(f"undo_shells: no move run {run_id!r} in the stage log")
    with StageLog(journal) as stage_log:
        sends = moved[moved["event"] == "send"].drop_duplicates("deal_id", keep="last")
        answers = moved[moved["event"] == "answer"].drop_duplicates("deal_id", keep="last")
        status = answers.set_index("deal_id")["status"]
        todo = {int(r.deal_id): (str(r.to_stage), str(r.from_stage))
                for r in sends.itertuples() if status.get(r.deal_id) in ("moved", "pending",
                                                                          None)}
        who = _identity(portal)
        undo_id = stage_log.start_run(who, "undo", undoes=run_id)
        now = _read(portal, list(todo))
        result: dict[int, dict[str, Any]] = {}
        moves: dict[int, tuple[str, str]] = {}
        for i, (set_to, before) in todo.items():
            deal, _n = now[i]
            cur = None if deal is None else deal.get("STAGE_ID")
            if cur == set_to:
                moves[i] = (cur, before)
                continue
            # gone; never moved (a send without effect); or moved on by someone since
            why = ("skipped_missing" if deal is None else "already" if cur == before
                   else "skipped_changed")
            result[i] = {"from_stage": cur, "to_stage": before, "status": why, "error": None,
                         "message": None}
        if result:
            stage_log.append(who, undo_id, "answer", [
                {"action": "undo", "deal_id": i, **r} for i, r in result.items()])
        _send(portal, stage_log, who, undo_id, "undo", moves, result)
    return _frame({i: result[i] for i in todo}, undo_id)
