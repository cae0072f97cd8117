"""What a run did, in numbers and in one line: :class:`RunSummary`, and the run's pace.

Why apart from the verbs: the same summary is returned by ``bind``/``unbind``, attached to the
exception of a run that stopped, journaled as the run's ``end`` note, and shown by the review
grid after a Stop, an interrupt or a restart; and the run's expected duration is said before
it starts. One place builds all of them.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from b24nb.binding.pace import Estimate, estimate
from b24nb.binding.validate import Item
from b24nb.errors import ValidationError
from b24nb.journal import Journal
from b24nb.pairs.log import FrameLog

__all__ = ["RunSummary", "last_run_line", "summary_line"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """What a ``bind``/``unbind`` call did: counts by ``bind_status``, and its costs."""

    verb: str
    run_id: str | None
    counts: Mapping[str, int] = field(default_factory=dict)
    dry_run: bool = False
    http_requests: int = 0
    waited_seconds: float = 0.0
    journal: str = ""
    #: why the run ended early: "stopped" (control.stop()), "interrupted" (KeyboardInterrupt),
    #: or an error code; None when it ran to the end
    stopped: str | None = None
    #: rows whose answer was lost and that were settled by reading the portal back
    read_back: int = 0
    #: the expected duration under the portal's limits, said before the run
    eta: Estimate | None = None

    def __getitem__(self, status: str) -> int:
        return int(self.counts.get(status, 0))

    @property
    def line(self) -> str:
        """One line: what happened and what to do next.

        ``stopped: 280 bound, 50 unanswered, read back; 307 not sent — rerun to finish``
        """
        return summary_line(self.verb, self.counts, stopped=self.stopped,
                            read_back=self.read_back)

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "nothing"
        what = "dry run" if self.dry_run else f"run {self.run_id}"
        stop = f" ({self.line})" if self.stopped else ""
        return (
            f"<{self.verb} {what}: {counts}; {self.http_requests} HTTP requests, "
            f"{self.waited_seconds:.0f} s waited on limits{stop}>"
        )


_DONE = ("bound", "rebound", "already_bound", "unbound")


def summary_line(
    verb: str,
    counts: Mapping[str, int],
    *,
    stopped: str | None = None,
    read_back: int = 0,
    finish: str = "rerun to finish (nothing is sent twice)",
) -> str:
    """``stopped: 280 bound, 50 unanswered, read back; 307 not sent — rerun to finish``.

    Why one line: after a Stop, an interrupt or a crash the analyst needs to know at a glance
    what reached the portal, what is uncertain and what is left, and the one thing to do.
    """
    parts = [f"{counts[s]:,} {s.replace('_', ' ')}" for s in _DONE if counts.get(s)]
    if read_back:
        parts.append(f"{read_back:,} unanswered, read back")
    rest = []
    if counts.get("pending"):
        rest.append(f"{counts['pending']:,} sent without an answer (a rerun reads them back)")
    if counts.get("skipped") and stopped:
        rest.append(f"{counts['skipped']:,} not sent")
    for s in ("failed", "needs_rebind"):
        if counts.get(s):
            rest.append(f"{counts[s]:,} {s.replace('_', ' ')}")
    head = stopped or "done"
    text = f"{head}: " + (", ".join(parts) or "nothing done")
    if rest:
        text += "; " + ", ".join(rest)
    if stopped and (counts.get("skipped") or counts.get("pending")):
        text += f" — {finish}"
    return text


def requests_of(portal: Any) -> tuple[int, float]:
    stats = getattr(portal, "stats", None)
    return (
        int(getattr(stats, "http_requests", 0) or 0),
        float(getattr(stats, "waited_seconds", 0.0) or 0.0),
    )


@dataclass(frozen=True)
class RunScope:
    """What a run's summary is counted over: its rows, its frame, the portal and the journal.

    Why one object: the summary is made at four exits of a run (nothing selected, nothing to
    send, a stop, the end), always over the same rows and against the same starting meters;
    only the run id, the stop reason and the estimate differ.
    """

    verb: str
    log: FrameLog
    items: list[Item]
    portal: Any
    journal: Journal
    #: the portal's (HTTP requests, seconds waited on limits) when the run began
    before: tuple[int, float]


def make_summary(
    scope: RunScope,
    run_id: str | None,
    *,
    dry: bool = False,
    key: str | None = None,
    stopped: str | None = None,
    eta: Estimate | None = None,
) -> RunSummary:
    """The :class:`RunSummary` of a run, counted from the frame, the portal and the journal.

    ``key`` given (a run that sent writes), the rows settled by reading back are counted
    from the journal's ``settle`` events of ``run_id``.
    """
    counts = scope.log.statuses([i.pair_id for i in scope.items]).value_counts(dropna=False)
    after = requests_of(scope.portal)
    read_back = 0
    if run_id is not None and key is not None:
        read_back = len({e["pair_id"] for e in scope.journal.events(key, run_id=run_id)
                         if e["event"] == "settle" and e["status"] is not None})
    return RunSummary(
        scope.verb,
        run_id,
        {str(k): int(v) for k, v in counts.items() if not pd.isna(k)},
        dry,
        after[0] - scope.before[0],
        after[1] - scope.before[1],
        str(scope.journal.path),
        stopped,
        read_back,
        eta,
    )


def journal_end(journal: Journal, key: str, run_id: str, summary: RunSummary) -> None:
    """Journal how the run ended (a note with no order): what the grid reads after a restart.

    A run with no such note was cut off — a crash, a kill, a kernel restart.
    """
    with contextlib.suppress(Exception):  # the journal already holds every write's fate
        journal.note(key, run_id, [{"action": "end", "status": summary.stopped or "done",
                                    "message": summary.line,
                                    "response": dict(summary.counts)}])


def estimate_run(portal: Any, writes: list[Any], in_flight: int) -> Estimate:
    """The run's duration under the portal's limits, from what the limiter knows now."""
    method = writes[0].method if writes else "crm.orderentity.add"
    limiter = getattr(portal, "limiter", None)
    budget = getattr(limiter, "budget", None)
    if budget is None or not hasattr(budget, "snapshot"):
        return estimate(len(writes), in_flight=in_flight)
    used, frees = budget.snapshot(method)
    return estimate(len(writes), cost=budget.cost(method) or 0.3278, in_flight=in_flight,
                    limit=budget.limit, used=used, frees=frees)


def code_of(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return f"stopped by {code or type(exc).__name__}"


def selection(pairs: pd.DataFrame, pair_ids: Any, verb: str) -> pd.DataFrame:
    """The frame as validation should see it: ``selected`` replaced by ``pair_ids`` if given.

    Why not write ``pairs.selected``: the grid runs in the background while the analyst keeps
    ticking; the run's rows are named by id and the analyst's ticks stay theirs.
    """
    if pair_ids is None:
        return pairs
    if not isinstance(pairs, pd.DataFrame):
        return pairs  # selected_items says what is wrong with it
    ids = list(pd.Index(list(pair_ids)).unique())
    missing = [p for p in ids if p not in pairs.index]
    if missing:
        raise ValidationError(
            f"{verb}: {len(missing)} pair_ids are not in the frame; nothing was sent",
            [f"pair {p!r} is not in pairs.index" for p in missing[:50]],
        )
    mask = pairs.index.isin(ids)
    return pairs.assign(selected=pd.array(mask, dtype="boolean"))


def last_run_line(portal: Any, journal: Any = None, *,
                  finish: Mapping[str, str] | None = None) -> str | None:
    """One line on this portal's last run when it did not end normally, else None.

    Why: after a kernel restart (or a crash, or a kill) the grid is built anew over a new
    frame, and the analyst has no bar, no statuses, nothing to say the last run was cut off.
    The journal knows: a run that ended wrote an ``end`` note; one without it was cut off, and
    its sends, answers and planned rows say what reached the portal and what is left.
    """
    found = _last_run(portal, journal)
    if found is None:
        return None
    run, events = found
    if (run.get("response") or "").find('"dry_run": true') >= 0:
        return None
    kind = run.get("action") or "bind"
    finishes = dict(finish or {})
    finish_text = finishes.get(kind if kind != "unbind" else "undo",
                               finishes.get("bind", "rerun to finish (nothing is sent twice)"))
    end = next((ev for ev in events if ev["event"] == "note" and ev.get("action") == "end"),
               None)
    if end is not None:
        return _ended_line(kind, run, end, finish_text)
    line = summary_line(kind, _cut_off_counts(run, events),
                        stopped="cut off (kernel restart, crash or kill)", finish=finish_text)
    return f"the last {kind} run ({run['run_id']}) was {line}"


def _last_run(portal: Any, journal: Any) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The portal's last ``run`` event and the events of that run after it; None if none.

    Any failure to open or read the journal reads as "nothing to say": the line is a hint
    shown when the grid is built, never a reason for the grid not to be.
    """
    from b24nb.binding.identity import portal_identity
    from b24nb.journal import open_journal

    try:
        j, opened = open_journal(journal, readonly=True)
    except Exception:  # no journal yet, or unreadable: nothing to say
        return None
    try:
        key = portal_identity(portal)
        run: dict[str, Any] | None = None
        events: list[dict[str, Any]] = []
        for ev in j.events(key):
            if ev["event"] == "run":
                run, events = ev, []
            elif run is not None and ev["run_id"] == run["run_id"]:
                events.append(ev)
    except Exception:
        _log.debug("could not read the journal for the last run", exc_info=True)
        return None
    finally:
        if opened:
            with contextlib.suppress(Exception):
                j.close()
    return None if run is None else (run, events)


def _ended_line(kind: str, run: Mapping[str, Any], end: Mapping[str, Any],
                finish_text: str) -> str | None:
    """The line of a run that wrote its ``end`` note: None when it ran to the end."""
    if end.get("status") in (None, "done"):
        return None
    try:
        counts = {str(k): int(v) for k, v in json.loads(end["response"]).items()}
    except (TypeError, ValueError, AttributeError):
        return f"the last {kind} run ({run['run_id']}) {end.get('message') or 'stopped'}"
    line = summary_line(kind, counts, stopped=end["status"], finish=finish_text)
    return f"the last {kind} run ({run['run_id']}) {line}"


def _cut_off_counts(run: Mapping[str, Any], events: list[dict[str, Any]]) -> dict[str, int]:
    """Counts by status of a run cut off without its ``end`` note, rebuilt from its events.

    A send's final status is its last answer or settlement with a status; a send with none
    is ``pending``; rows the run planned (``selected`` in its start) but neither sent nor
    noted are ``skipped``.
    """
    try:
        planned = int(json.loads(run.get("response") or "{}").get("selected") or 0)
    except (TypeError, ValueError):
        planned = 0
    sends = {ev["id"]: ev for ev in events if ev["event"] == "send"}
    final: dict[Any, str] = {}
    answered: set[Any] = set()
    noted: set[Any] = set()
    for ev in events:
        if ev["event"] in ("answer", "settle") and ev["send_id"] in sends:
            answered.add(ev["send_id"])
            if ev["status"] is not None:
                final[sends[ev["send_id"]]["pair_id"]] = ev["status"]
        elif ev["event"] == "note" and ev.get("pair_id") is not None:
            noted.add(ev["pair_id"])
    pending = {s["pair_id"] for i, s in sends.items() if i not in answered} - set(final)
    touched = {s["pair_id"] for s in sends.values()} | noted
    counts: dict[str, int] = {}
    for status in final.values():
        counts[status] = counts.get(status, 0) + 1
    if pending:
        counts["pending"] = len(pending)
    if planned > len(touched):
        counts["skipped"] = planned - len(touched)
    return counts
