"""``Portal.list``: every record of a list method, as fast as the portal allows, never short.

Two strategies, picked per method:

**ID walk** (methods with an ID: ``crm.deal.list`` ``ID``, ``crm.contact.list`` ``ID``,
``sale.order.list`` ``id`` under ``orders``, ``crm.item.list`` ``id`` under ``items``). Pages
are read with ``start=-1`` (no count, cheap at any table size) and ``filter[>ID]`` = the last
ID seen; inside one ``batch`` each page's cursor is ``$result[p<i-1>][49][ID]`` of the page
before, so one HTTP request carries 50 pages = 2,500 rows (the model is b24pysdk's
``as_list_fast``). One probe request first reads the first page *with* the count and the
highest ID; when the IDs in between are dense (as in an unfiltered table) the rest is cut into
ranges of exactly 2,500 IDs, each one batch, walked by a few threads at once within the shared
rate limiter — ``⌈N/2500⌉ + 1`` requests in all. Sparse IDs (a filtered list) are cut into
ranges of equal width; a range holding more than 2,500 rows takes another batch.

**Offset pages** (methods without a usable ID, e.g. ``crm.orderentity.list``): a first call
gives ``total``; the remaining ``start`` offsets go 50 to a batch, a few batches at once.

Decisions:

- The user's ``filter`` and ``select`` are kept. When ``select`` names fields but not the ID,
  the ID is added (the walk needs it) and removed again from every row, so rows look exactly
  as the method returns them for that ``select``. A user ``>ID``/``<ID`` bound narrows the walk.
- A user ``order`` other than ascending ID switches to offset pages, which honour it.
- The list is a snapshot of the probe: rows created later (IDs above the highest seen) are not
  included.
- Any error raises :class:`~b24nb.errors.ListIncompleteError` with ``rows`` = everything
  fetched so far, in order. Limit refusals of single commands (``OPERATION_TIME_LIMIT``,
  ``QUERY_LIMIT_EXCEEDED``) and transient server errors are retried from the last cursor
  first, as whole-request failures are.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from b24nb.errors import ListIncompleteError, PortalError

if TYPE_CHECKING:
    from b24nb.portal import CommandResult, Portal

__all__ = ["ID_METHODS", "OFFSET_METHODS", "iter_list"]

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

PAGE = 50
CHAIN = 50  # pages per batch request
#: method -> (ID field, result wrapper key or None)
ID_METHODS: dict[str, tuple[str, str | None]] = {
    "crm.deal.list": ("ID", None),
    "crm.contact.list": ("ID", None),
    "crm.company.list": ("ID", None),
    "crm.lead.list": ("ID", None),
    "sale.order.list": ("id", "orders"),
    "crm.item.list": ("id", "items"),
}
#: method -> (result wrapper key, default order making offset pages deterministic)
OFFSET_METHODS: dict[str, tuple[str | None, dict[str, str] | None]] = {
    "crm.orderentity.list": ("orderEntity", {"orderId": "ASC"}),
    "sale.propertyvalue.list": ("propertyValues", None),
}
_MANAGED = ("filter", "select", "order", "start")
_BAR_MIN_ROWS = 5_000  # shorter lists finish before a bar would tell anyone anything


class _Failed(Exception):
    """A range stopped; carries its partial rows and the portal's error."""

    def __init__(self, rows: list[dict[str, Any]], error: PortalError) -> None:
        super().__init__(str(error))
        self.rows = rows
        self.error = error


def _get(params: Mapping[str, Any], name: str) -> Any:
    for k, v in params.items():
        if str(k).lower() == name:
            return v
    return None


def _unwrap(result: Any, wrapper: str | None) -> list[dict[str, Any]]:
    if wrapper is not None and isinstance(result, Mapping):
        result = result.get(wrapper, [])
    elif isinstance(result, Mapping):  # unknown method: take the one list inside, if any
        lists = [v for v in result.values() if isinstance(v, list)]
        result = lists[0] if len(lists) == 1 else list(result.values())
    return list(result or [])


class _Run:
    """Shared state of one list call: portal, progress, stop flag, retry policy."""

    def __init__(self, portal: Portal, method: str, progress: bool) -> None:
        self.portal = portal
        self.method = method
        self.stop = threading.Event()
        self.progress = progress
        self.bar: Any = None
        self._lock = threading.Lock()
        self._note = ""

    def open_bar(self, total: int | None) -> None:
        if not self.progress or (total is not None and total < _BAR_MIN_ROWS):
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="rows", desc=self.method, unit_scale=True)
        self.portal.limiter.add_listener(self.on_wait)

    def on_wait(self, seconds: float, reason: str) -> None:
        with self._lock:
            if self.bar is not None:
                self._note = f"waiting {seconds:.0f} s on the {reason}"
                self.bar.set_postfix_str(self._note)

    def advance(self, n: int) -> None:
        with self._lock:
            if self.bar is not None:
                self.bar.update(n)
                if self._note:
                    self._note = ""
                    self.bar.set_postfix_str("")

    def close(self) -> None:
        self.stop.set()
        if self.bar is not None:
            self.portal.limiter.remove_listener(self.on_wait)
            self.bar.close()

    def batch(self, cmds: dict[str, tuple[str, dict[str, Any]]], *, halt: bool = False
              ) -> dict[str, CommandResult]:
        return self.portal.batch(cmds, halt=halt)

    def retry_or_raise(self, err: PortalError, attempt: int, rows: list[dict[str, Any]]) -> None:
        """Back off before retrying a failed command, or raise when it is final."""
        if self.stop.is_set() or not err.transient:
            raise _Failed(rows, err)
        self.portal.limiter.on_error(err, [self.method])
        if not self.portal.limiter.backoff(err, attempt):
            raise _Failed(rows, err)
        self.portal.stats._add("retries")


def iter_list(portal: Portal, method: str, params: dict[str, Any], *,
              progress: bool) -> Iterator[dict[str, Any]]:
    """The generator behind :meth:`b24nb.portal.Portal.list` (see the module docstring)."""
    key = method.strip().lower()
    order = _get(params, "order")
    spec = ID_METHODS.get(key)
    if spec is not None and order:
        idf = spec[0]
        wanted = {str(k): str(v).upper() for k, v in dict(order).items()}
        if wanted != {idf: "ASC"}:
            spec = None  # honour the user's order with offset pages
    if spec is not None and not isinstance(_get(params, "filter") or {}, Mapping):
        spec = None  # let the portal judge a malformed filter, on the plain path
    run = _Run(portal, method, progress)
    done: list[dict[str, Any]] = []
    gen = (_id_walk(run, params, *spec) if spec is not None
           else _offset_pages(run, params, *OFFSET_METHODS.get(key, (None, None))))
    try:
        for chunk in gen:
            done.extend(chunk)
            yield from chunk
    except _Failed as f:
        raise ListIncompleteError(method, done + f.rows, f.error) from f.error
    except PortalError as e:
        raise ListIncompleteError(method, done, e) from e
    finally:
        run.close()
        gen.close()  # stops the worker pool now, not when the generator is collected


def _ordered(run: _Run, tasks: list[Callable[[], list[dict[str, Any]]]]
             ) -> Iterator[list[dict[str, Any]]]:
    """Run tasks on a few threads; yield their rows in task order.

    On a failure the rows of every task that already finished are handed on, in order, so the
    error carries everything fetched.
    """
    if not tasks:
        return
    workers = min(run.portal.max_workers, len(tasks))
    if workers == 1:
        for t in tasks:
            yield t()
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="b24nb-list")
    futures: list[Future[list[dict[str, Any]]]] = [pool.submit(t) for t in tasks]
    try:
        for i, fut in enumerate(futures):
            try:
                rows = fut.result()
            except _Failed as f:
                run.stop.set()
                later: list[dict[str, Any]] = []
                for other in futures[i + 1:]:
                    if other.done() and not other.cancelled() and other.exception() is None:
                        later.extend(other.result())
                raise _Failed(f.rows + later, f.error) from None
            yield rows
    finally:
        run.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)


# -- ID walk -------------------------------------------------------------------------------


def _id_walk(run: _Run, params: dict[str, Any], idf: str, wrapper: str | None
             ) -> Iterator[list[dict[str, Any]]]:
    user_filter = dict(_get(params, "filter") or {})
    raw_select = _get(params, "select") or []
    select = [raw_select] if isinstance(raw_select, str) else list(raw_select)
    drop_id = bool(select) and "*" not in select and idf not in select
    if drop_id:
        select.append(idf)
    base = {k: v for k, v in params.items() if str(k).lower() not in _MANAGED}
    if select:
        base["select"] = select
    lo_user = _int(user_filter.pop(f">{idf}", None))
    hi_user = _int(user_filter.pop(f"<{idf}", None))

    def flt(after: int | None, before: int | None) -> dict[str, Any]:
        f = dict(user_filter)
        lows = [x for x in (after, lo_user) if x is not None]
        highs = [x for x in (before, hi_user) if x is not None]
        if lows:
            f[f">{idf}"] = max(lows)
        if highs:
            f[f"<{idf}"] = min(highs)
        return f

    def clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if drop_id:
            for r in rows:
                r.pop(idf, None)
        return rows

    # probe: the first page with the count, and the highest ID, in one request
    probe = {
        "head": (run.method, {**base, "filter": flt(None, None), "order": {idf: "ASC"},
                              "start": 0}),
        "tail": (run.method, {**base, "filter": flt(None, None), "select": [idf],
                              "order": {idf: "DESC"}, "start": -1}),
    }
    attempt = 0
    while True:
        res = run.batch(probe)
        bad = next((r for r in res.values() if not r.ok), None)
        if bad is None:
            break
        run.retry_or_raise(bad.error, attempt, [])  # type: ignore[arg-type]
        attempt += 1
    head = _unwrap(res["head"].result, wrapper)
    tail = _unwrap(res["tail"].result, wrapper)
    total = res["head"].total
    run.open_bar(total)
    run.advance(len(head))
    if len(head) < PAGE or not tail:
        yield clean(head)
        return
    cursor = int(head[-1][idf])
    top = int(tail[0][idf])
    remaining = (total or 0) - len(head)
    yield clean(head)
    if top <= cursor:
        return
    span = top - cursor
    ranges: list[tuple[int, int, int | None]] = []  # (after, last ID included, expected rows)
    if remaining == span:  # dense IDs: every range of 2,500 IDs holds exactly 2,500 rows
        for a in range(cursor, top, CHAIN * PAGE):
            last = min(a + CHAIN * PAGE, top)
            ranges.append((a, last, last - a))
    else:  # sparse IDs (a filtered list): count equal-width ranges, then walk each exactly
        ranges = _counted_ranges(run, base, flt, idf, wrapper, cursor, top, remaining)
    tasks = [
        (lambda a=a, z=z, e=e: clean(_walk_range(run, base, flt, idf, wrapper, a, z, e)))
        for a, z, e in ranges
    ]
    yield from _ordered(run, tasks)


def _counted_ranges(run: _Run, base: dict[str, Any],
                    flt: Callable[[int | None, int | None], dict[str, Any]], idf: str,
                    wrapper: str | None, cursor: int, top: int, remaining: int
                    ) -> list[tuple[int, int, int | None]]:
    """Cut (cursor, top] into equal-width ranges and count each (cheap: one filtered count).

    Why count: a chained page after a short one gets the server's partial ``$result`` value
    (a whole array) as its ``>ID``, which no server handles well; knowing each range's size
    lets every batch carry exactly the pages it needs.
    """
    span = top - cursor
    k = max(1, math.ceil(max(remaining, 1) / (CHAIN * PAGE)))
    edges = sorted({cursor + round(span * i / k) for i in range(k + 1)})
    spans = list(itertools.pairwise(edges))
    cmds = {f"c{i}": (run.method, {**base, "select": [idf], "filter": flt(a, z + 1),
                                   "order": {idf: "ASC"}, "start": 0})
            for i, (a, z) in enumerate(spans)}
    attempt = 0
    counts: dict[str, int] = {}
    while len(counts) < len(cmds):
        todo = {key: c for key, c in cmds.items() if key not in counts}
        try:
            res = run.batch(todo)
        except PortalError as err:
            raise _Failed([], err) from None
        failed = None
        for key, r in res.items():
            if r.ok:
                counts[key] = int(r.total or len(_unwrap(r.result, wrapper)))
            elif failed is None:
                failed = r.error
        if failed is not None:
            run.retry_or_raise(failed, attempt, [])
            attempt += 1
    return [(a, z, counts[f"c{i}"]) for i, (a, z) in enumerate(spans) if counts[f"c{i}"] > 0]


def _int(v: Any) -> int | None:
    try:
        return None if v is None else int(v)
    except (TypeError, ValueError):
        return None


def _walk_range(run: _Run, base: dict[str, Any], flt: Callable[[int | None, int | None],
                dict[str, Any]], idf: str, wrapper: str | None, after: int, last: int,
                expected: int | None) -> list[dict[str, Any]]:
    """Walk IDs in (after, last] with chained ``start=-1`` pages, 50 per request."""
    rows: list[dict[str, Any]] = []
    cursor = after
    attempt = 0
    path = f"[{wrapper}]" if wrapper else ""
    while not run.stop.is_set():
        left = None if expected is None else expected - len(rows)
        n = CHAIN if left is None else min(CHAIN, max(1, math.ceil(left / PAGE)))
        cmds: dict[str, tuple[str, dict[str, Any]]] = {}
        for i in range(n):
            f = flt(cursor, last + 1)
            if i:
                f[f">{idf}"] = f"$result[p{i - 1}]{path}[{PAGE - 1}][{idf}]"
            cmds[f"p{i}"] = (run.method, {**base, "filter": f, "order": {idf: "ASC"},
                                          "start": -1})
        try:
            # halt: after a refused page the later ones would read a missing $result and get
            # the server's partial-path value as their cursor; better they do not run at all
            res = run.batch(cmds, halt=True)
        except PortalError as err:  # the request loop already retried what it could
            raise _Failed(rows, err) from None
        for i in range(n):
            r = res[f"p{i}"]
            if not r.ok:
                run.retry_or_raise(r.error, attempt, rows)  # type: ignore[arg-type]
                attempt += 1
                break
            page = _unwrap(r.result, wrapper)
            rows.extend(page)
            run.advance(len(page))
            if page:
                cursor = int(page[-1][idf])
            if len(page) < PAGE or cursor >= last:
                return rows  # a short page: nothing left in this range
        else:
            if expected is not None and len(rows) >= expected:
                return rows  # the range held what the probe counted
    raise _Failed(rows, PortalError("STOPPED", "the list was stopped", method=run.method))


# -- offset pages --------------------------------------------------------------------------


def _offset_pages(run: _Run, params: dict[str, Any], wrapper: str | None,
                  default_order: dict[str, str] | None) -> Iterator[list[dict[str, Any]]]:
    base = {k: v for k, v in params.items() if str(k).lower() != "start"}
    if default_order and not _get(params, "order"):
        base["order"] = default_order  # a unique order keeps offset pages from overlapping
    first = run.portal.call_full(run.method, {**base, "start": 0})
    rows = _unwrap(first.result, wrapper)
    run.open_bar(first.total)
    run.advance(len(rows))
    yield rows
    if first.next is None or first.total is None:
        return
    offsets = list(range(int(first.next), int(first.total), PAGE))
    chunks = [offsets[i:i + CHAIN] for i in range(0, len(offsets), CHAIN)]
    tasks = [(lambda c=c: _offset_chunk(run, base, wrapper, c)) for c in chunks]
    yield from _ordered(run, tasks)


def _offset_chunk(run: _Run, base: dict[str, Any], wrapper: str | None,
                  offsets: list[int]) -> list[dict[str, Any]]:
    pages: dict[int, list[dict[str, Any]]] = {}
    attempt = 0
    while len(pages) < len(offsets):
        if run.stop.is_set():
            raise _Failed([], PortalError("STOPPED", "the list was stopped", method=run.method))
        todo = [o for o in offsets if o not in pages]
        cmds = {f"o{o}": (run.method, {**base, "start": o}) for o in todo}
        got = [r for o in sorted(pages) for r in pages[o]]
        try:
            res = run.batch(cmds)
        except PortalError as err:  # the request loop already retried what it could
            raise _Failed(got, err) from None
        failed = None
        for o in todo:
            r = res[f"o{o}"]
            if r.ok:
                pages[o] = _unwrap(r.result, wrapper)
                run.advance(len(pages[o]))
            elif failed is None:
                failed = r.error
        if failed is not None:
            ordered = []
            for o in offsets:  # hand on only the unbroken prefix, so rows stay in order
                if o not in pages:
                    break
                ordered.extend(pages[o])
            run.retry_or_raise(failed, attempt, ordered)
            attempt += 1
    return [r for o in offsets for r in pages[o]]
