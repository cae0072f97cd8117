"""One ``bind``/``unbind`` call, step by step: claim, read owners, plan, send, summarise.

Why apart from :mod:`~b24nb.binding.api`: the verbs own their keywords and their docstrings
(what the analyst reads); this module owns what a call does with them. A dry run and a real
run are two paths over the same small steps: both read the owners and the journal and plan;
only the real run starts a run in the journal, claims its orders, settles what earlier runs
left unanswered, sends (:mod:`~b24nb.binding.sender`) and journals how it ended.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from b24nb.binding.control import LockedLog, RunControl
from b24nb.binding.identity import portal_identity
from b24nb.binding.owners import read_owners
from b24nb.binding.pace import IN_FLIGHT, Estimate
from b24nb.binding.plan import Plan, note_row, settle_orphans
from b24nb.binding.sender import Sender, Target, notify
from b24nb.binding.summary import (
    RunScope,
    RunSummary,
    code_of,
    estimate_run,
    journal_end,
    make_summary,
    requests_of,
)
from b24nb.binding.validate import Item
from b24nb.journal import WRITE_KEYS, Journal, open_journal
from b24nb.journal.claims import Claims, describe
from b24nb.pairs.log import FrameLog, Outcome, fmt

__all__ = ["RunOptions", "run_verb"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())

#: ``planner(items, owners, ledgers)``: :func:`~b24nb.binding.plan.plan_bind` or ``plan_unbind``
#: with the verb's own options bound
Planner = Callable[[list[Item], Mapping[int, Any], Mapping[int, Any]], Plan]

#: how a row about to be written first reads in the frame: its status, the first word of its
#: message ("would bind order 7 to deal 3" in a dry run, "to bind …" before the send)
_DRY = ("dry_run", "would ")
_REAL = ("pending", "to ")


@dataclass(frozen=True)
class RunOptions:
    """What one ``bind``/``unbind`` call asks for, gathered once from the verb's keywords."""

    verb: str
    planner: Planner
    #: journaled with the run's start (what ``history()`` shows of how it was called)
    params: Mapping[str, Any]
    control: RunControl
    dry_run: bool = False
    journal: Any = None
    progress: bool = True
    on_update: Callable[[list[Any]], None] | None = None
    wait: bool | float = False
    in_flight: int = IN_FLIGHT


@dataclass(frozen=True)
class _Run:
    """A real run once its start is journaled: what every step after the claim needs."""

    scope: RunScope
    opts: RunOptions
    key: str
    run_id: str


class _Bar:
    """A tqdm bar that also shows the client's waits on limits (through its listener)."""

    def __init__(self, portal: Any, total: int, desc: str, progress: bool) -> None:
        self.bar = tqdm(total=total, desc=desc, unit="pair", disable=not progress, leave=True)
        self._limiter = getattr(portal, "limiter", None)
        if self._limiter is not None and hasattr(self._limiter, "add_listener"):
            self._limiter.add_listener(self._on_wait)

    def _on_wait(self, seconds: float, reason: str) -> None:
        self.bar.set_postfix_str(f"waiting {seconds:.0f}s: {reason}", refresh=True)

    def close(self) -> None:
        if self._limiter is not None and hasattr(self._limiter, "remove_listener"):
            self._limiter.remove_listener(self._on_wait)
        self.bar.close()


def run_verb(portal: Any, pairs: pd.DataFrame, items: list[Item],
             opts: RunOptions) -> RunSummary:
    """Run one validated ``bind``/``unbind`` call over ``items``; return its summary."""
    with opts.control.lock:
        log: Any = LockedLog(FrameLog(pairs), opts.control.lock)
    # before any request: a run that cannot journal its writes must not send them (a dry run
    # writes nothing, so a read-only journal is enough for it)
    j, opened = open_journal(opts.journal, readonly=opts.dry_run)
    try:
        scope = RunScope(opts.verb, log, items, portal, j, requests_of(portal))
        if not items:
            logger.info("%s: no selected rows; nothing to do", opts.verb)
            return make_summary(scope, None, dry=opts.dry_run)
        if opts.dry_run:
            return _dry_run(scope, opts)
        return _real_run(scope, opts)
    finally:
        if opened:
            j.close()


def _dry_run(scope: RunScope, opts: RunOptions) -> RunSummary:
    """Read and plan as a real run would; mark the rows it would send; journal nothing."""
    key = portal_identity(scope.portal)
    orders = [i.order_id for i in scope.items]
    ledgers = scope.journal.ledgers(key, orders)
    owners = read_owners(scope.portal, orders)
    plan = opts.planner(scope.items, owners, ledgers)
    _show_plan(scope, opts, plan, {o: owners.get(o) for o in orders}, _DRY)
    return make_summary(scope, None, dry=True)


def _real_run(scope: RunScope, opts: RunOptions) -> RunSummary:
    """Start the run, claim its orders, read, plan, settle, send; the claims end with it."""
    j, key = scope.journal, portal_identity(scope.portal)
    # the run starts (a journal write) and claims its orders before any portal read, so
    # a journal that cannot be written fails before a request, and no other b24nb run
    # works on these orders meanwhile
    run = _Run(scope, opts, key, j.start_run(key, opts.verb, opts.params))
    claims = Claims(j, key, run.run_id)
    try:
        todo, held_out = _claim(claims, scope.items, opts.wait, j, key)
        orders = [i.order_id for i in todo]
        ledgers = j.ledgers(key, orders)
        orphans, orphan_ledgers = _orphans(j, key, set(orders))
        owners = read_owners(scope.portal, orders + orphans)
        plan = opts.planner(todo, owners, ledgers)
        plan.outcomes[:0] = held_out
        _apply_plan(run, plan)
        if orphan_ledgers:
            _settle_orphan_sends(run, orphan_ledgers, owners)
        return _send_plan(run, plan, {o: owners.get(o) for o in orders + orphans})
    finally:
        claims.release()


def _show_plan(scope: RunScope, opts: RunOptions, plan: Plan, order_owners: dict[int, Any],
               first: tuple[str, str]) -> None:
    """Write the plan into the frame: final outcomes, and each write as ``first`` says."""
    status, lead = first
    rows = plan.outcomes + [
        Outcome(w.item.pair_id, status, None, lead + _describe(w)) for w in plan.writes
    ]
    with opts.control.lock:
        changed = scope.log.write(rows)
        scope.log.set_order_owners(order_owners)
        notify(opts.on_update, changed)


def _send_plan(run: _Run, plan: Plan, order_owners: dict[int, Any]) -> RunSummary:
    """Send the plan's writes with a bar; journal how the run ended and return its summary."""
    scope, opts, writes = run.scope, run.opts, plan.writes
    if not writes:
        _show_plan(scope, opts, plan, order_owners, _REAL)
        done = make_summary(scope, run.run_id)
        journal_end(scope.journal, run.key, run.run_id, done)
        return done
    eta = estimate_run(scope.portal, writes, opts.in_flight)
    bar = _Bar(scope.portal, len(writes), opts.verb, opts.progress)
    logger.info("%s: %d writes, %s", opts.verb, len(writes), eta.text)
    bar.bar.set_postfix_str(eta.text, refresh=True)
    try:
        _show_plan(scope, opts, plan, order_owners, _REAL)
        sender = Sender(Target(scope.portal, scope.journal, run.key, run.run_id), scope.log,
                        bar.bar, opts.on_update, control=opts.control, in_flight=opts.in_flight)
        try:
            sender.run(writes)
        except BaseException as exc:
            _stopped(run, exc, eta, bar)
            raise
    finally:
        bar.close()
    control = opts.control
    summary = make_summary(scope, run.run_id, key=run.key, eta=eta,
                           stopped=control.reason if control.stopping else None)
    journal_end(scope.journal, run.key, run.run_id, summary)
    return summary


def _stopped(run: _Run, exc: BaseException, eta: Estimate, bar: _Bar) -> None:
    """Journal the end of a run stopped by ``exc`` and say it on the exception and the bar."""
    stopped = run.opts.control.reason if isinstance(exc, KeyboardInterrupt) else None
    summary = make_summary(run.scope, run.run_id, key=run.key,
                           stopped=stopped or code_of(exc), eta=eta)
    journal_end(run.scope.journal, run.key, run.run_id, summary)
    # say which run stopped and how, so it can be finished (rerun) or undone
    line = f"b24nb: {run.opts.verb} run {run.run_id} {summary.line}"
    with contextlib.suppress(AttributeError, TypeError):
        exc.b24nb_run_id = run.run_id  # type: ignore[attr-defined]
        exc.b24nb_summary = summary  # type: ignore[attr-defined]
        exc.add_note(line)
    if run.opts.progress:
        with contextlib.suppress(Exception):
            bar.bar.write(line)


def _settle_rows(
    settled: list[tuple[Mapping[str, Any], Outcome | None]],
) -> list[dict[str, Any]]:
    """Journal rows for read-back settlements: ``(send row, outcome or None)``.

    A settlement without a final status (the write did not land) is journaled with status
    None, the journal's way of saying "surely did not run".
    """
    rows = []
    for send, out in settled:
        landed = out is not None and out.status != "skipped"
        rows.append(
            {
                **{k: send[k] for k in WRITE_KEYS},
                "send_id": send["id"],
                "status": out.status if landed else None,  # type: ignore[union-attr]
                "message": out.message if out else "read back: not applied",
            }
        )
    return rows


def _apply_plan(run: _Run, plan: Plan) -> None:
    """Journal the settlements and notes of a plan."""
    j = run.scope.journal
    if plan.settle:
        j.record_answers(run.key, run.run_id, _settle_rows(plan.settle), event="settle")
    if plan.notes:
        j.note(run.key, run.run_id, plan.notes)


def _orphans(journal: Journal, key: str, acted_on: set[int]) -> tuple[list[int], dict[int, Any]]:
    """Orders with an unanswered send that this run does not select, and their ledgers."""
    orphans = sorted(journal.pending_orders(key) - acted_on)
    return orphans, (journal.ledgers(key, orphans) if orphans else {})


def _settle_orphan_sends(run: _Run, ledgers: Mapping[int, Any],
                         owners: Mapping[int, Any]) -> None:
    """Settle the unanswered sends of orders this run does not select, in journal and frame."""
    settled = settle_orphans(ledgers, owners)
    run.scope.journal.record_answers(run.key, run.run_id,
                                     _settle_rows(settled), event="settle")  # type: ignore[arg-type]
    notify(run.opts.on_update, run.scope.log.write_if_pending([(s, o) for s, o in settled]))


def _claim(claims: Claims, items: list[Item], wait: bool | float, journal: Journal,
           key: str) -> tuple[list[Item], list[Outcome]]:
    """Claim the run's orders; return the items to work on and outcomes for the others.

    An order another live b24nb run holds is ``skipped`` with that run named (or waited for,
    up to ``wait`` seconds; ``True`` is ten minutes).
    """
    orders = [i.order_id for i in items]
    if wait:
        held = claims.wait(orders, 600.0 if wait is True else float(wait))
    else:
        held = claims.claim(orders)
    if not held:
        return items, []
    out, notes = [], []
    for it in items:
        if it.order_id in held:
            msg = f"claimed by {describe(held[it.order_id])}; not sent: rerun after it ends, " \
                  "or pass wait=True"
            out.append(Outcome(it.pair_id, "skipped", None, msg))
            notes.append(note_row(it, "skipped", msg, None))
    journal.note(key, claims.run_id, notes)
    logger.info("%d orders are claimed by another run; skipped", len(out))
    return [i for i in items if i.order_id not in held], out


def _describe(w: Any) -> str:
    if w.action == "bind":
        moved = f" (replacing {fmt(w.prev)})" if w.prev is not None else ""
        return f"bind order {w.item.order_id} to {fmt(w.owner)}{moved}"
    if w.action == "restore":
        return f"give order {w.item.order_id} back to {fmt(w.owner)}"
    return f"unbind order {w.item.order_id} from {fmt(w.owner)}"
