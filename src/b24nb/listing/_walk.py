"""The ID walk: ``start=-1`` pages chained 50 deep in one batch, disjoint ID ranges at once.

Why the walk stops only on a short page or at the range's end, never on a count: the counts
that size each batch are taken before the walk, and rows can enter a range meanwhile (an edit
that makes a deal match the filter). Stopping at the counted number would then push the last
rows of the range out of the result — a short list with no error. The counts only decide how
many pages one request carries.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from b24nb.batching import headroom, resend_failed
from b24nb.errors import PortalError, ValidationError
from b24nb.listing._run import (
    CHAIN,
    PAGE,
    Failed,
    Rows,
    Run,
    as_int,
    get_param,
    ordered,
    without,
)
from b24nb.listing._run import unwrap as unwrap_rows

Filter = Callable[[int | None, int | None], dict[str, Any]]
_MANAGED = ("filter", "select", "order", "start")


def pop_id_bounds(user_filter: dict[str, Any], idf: str) -> tuple[int | None, int | None]:
    """Take the user's own ID bounds out of the filter as an exclusive ``(after, before)``.

    ``>ID``, ``>=ID``, ``<ID`` and ``<=ID`` in any letter case all narrow the walk; leaving
    one in the filter beside the walk's own ``>ID`` would put two keys on one field, and the
    server keeps only one of them.
    """
    after: int | None = None
    before: int | None = None
    pattern = re.compile(r"(>=|>|<=|<)" + re.escape(idf), re.IGNORECASE)
    for key in list(user_filter):
        m = pattern.fullmatch(str(key))
        if not m:
            continue
        value = user_filter.pop(key)
        n = as_int(value)
        if n is None:
            raise ValidationError(f"filter {key!r}: an {idf} bound must be a whole number, "
                                  f"not {value!r}")
        op = m.group(1)
        if op in (">", ">="):
            n = n if op == ">" else n - 1
            after = n if after is None else max(after, n)
        else:
            n = n if op == "<" else n + 1
            before = n if before is None else min(before, n)
    return after, before


class _Shape:
    """What one ID walk asks for: the user's filter and select, the ID field, the wrapper.

    ``flt(after, before)`` is the user's filter narrowed to IDs in (after, before), within
    the user's own ID bounds; ``clean`` takes the ID back out of rows when the user's
    ``select`` did not ask for it (the walk needs it as its cursor).
    """

    def __init__(self, params: dict[str, Any], idf: str, wrapper: str | None) -> None:
        self.idf = idf
        self.wrapper = wrapper
        self.user_filter = dict(get_param(params, "filter") or {})
        self.lo_user, self.hi_user = pop_id_bounds(self.user_filter, idf)
        raw_select = get_param(params, "select") or []
        select = [raw_select] if isinstance(raw_select, str) else list(raw_select)
        self.drop_id = bool(select) and "*" not in select and idf.lower() not in {
            str(s).lower() for s in select}
        if self.drop_id:
            select.append(idf)
        self.base = without(params, *_MANAGED)
        if select:
            self.base["select"] = select

    def flt(self, after: int | None, before: int | None) -> dict[str, Any]:
        f = dict(self.user_filter)
        lows = [x for x in (after, self.lo_user) if x is not None]
        highs = [x for x in (before, self.hi_user) if x is not None]
        if lows:
            f[f">{self.idf}"] = max(lows)
        if highs:
            f[f"<{self.idf}"] = min(highs)
        return f

    def clean(self, rows: Rows) -> Rows:
        if self.drop_id:
            for r in rows:
                r.pop(self.idf, None)
        return rows


def id_walk(run: Run, params: dict[str, Any], idf: str, wrapper: str | None) -> Iterator[Rows]:
    """Yield every row of an ID-keyed list in ascending ID order (see the package docstring)."""
    shape = _Shape(params, idf, wrapper)
    head, tail, total = _probe(run, shape)
    run.open_bar(total)
    run.advance(len(head))
    if len(head) < PAGE:
        yield shape.clean(head)
        return
    cursor = int(head[-1][idf])
    yield shape.clean(head)
    ranges = _plan(run, shape, cursor, tail, total, len(head))

    def task(a: int, z: int | None, e: int | None) -> Rows:
        try:
            return shape.clean(walk_range(run, shape.base, shape.flt, idf, wrapper, a, z, e))
        except Failed as f:
            raise Failed(shape.clean(f.rows), f.error) from None

    yield from ordered(run, [(lambda a=a, z=z, e=e: task(a, z, e)) for a, z, e in ranges])


def _probe(run: Run, shape: _Shape) -> tuple[Rows, Rows, int | None]:
    """The first page with the count, and the highest ID, in one request (or one shared).

    Only the first try goes through ``run.shared`` (a :class:`SharedProbe`); a retry, after
    a refused command, is this walk's own business.
    """
    idf, everything = shape.idf, shape.flt(None, None)
    probe = {
        "head": (run.method, {**shape.base, "filter": everything, "order": {idf: "ASC"},
                              "start": 0}),
        "tail": (run.method, {**shape.base, "filter": everything, "select": [idf],
                              "order": {idf: "DESC"}, "start": -1}),
    }
    shared, run.shared = run.shared, None
    if shared is not None:
        res, together = shared.batch(probe)
        if not together:
            run.spare = 0  # the group saved no request this walk may spend
    else:
        res = run.batch(probe)
    attempt = 0
    while True:
        bad = next((r for r in res.values() if not r.ok), None)
        if bad is None:
            break
        run.retry_or_raise(bad.error, attempt, [])  # type: ignore[arg-type]
        attempt += 1
        res = run.batch(probe)
    return (unwrap_rows(res["head"].result, shape.wrapper),
            unwrap_rows(res["tail"].result, shape.wrapper), res["head"].total)


def _plan(run: Run, shape: _Shape, cursor: int, tail: Rows, total: int | None, first: int
          ) -> list[tuple[int, int | None, int | None]]:
    """The ID ranges after the first page: ``(after, last ID included, expected rows)``."""
    if not tail:  # the highest row vanished between the two commands: walk to the end
        return [(cursor, None, None)]
    top = int(tail[0][shape.idf])
    if top <= cursor:
        return []
    remaining = (total or 0) - first
    if total is not None and remaining == top - cursor:
        # dense IDs: a range of k IDs holds exactly k rows
        width = dense_width(run, remaining)
        return [(a, min(a + width, top), min(a + width, top) - a)
                for a in range(cursor, top, width)]
    # sparse IDs (a filtered list): count equal-width ranges, then walk each
    return counted_ranges(run, shape.base, shape.flt, shape.idf, shape.wrapper, cursor, top,
                          remaining)


def dense_width(run: Run, remaining: int) -> int:
    """IDs per range of a dense walk: 2,500, or fewer when spare requests fit the burst.

    A batch's pages run one after another on the server (32 ms each), so the walk is as fast
    as its longest batch. When the whole walk, spares included, fits in the bucket's
    headroom right now, ``run.spare`` more ranges cut every batch shorter (50,000 deals: 22
    batches of 46 pages at once instead of 20 of 50). A walk longer than the headroom keeps
    full batches: there the bucket, not the batch, is the bound.
    """
    full = CHAIN * PAGE
    n = max(1, math.ceil(remaining / full))
    k = n + run.spare
    if not run.spare or k + 1 > min(headroom(run.portal), float(run.portal.max_workers)):
        return full
    return max(PAGE, math.ceil(remaining / k / PAGE) * PAGE)


def counted_ranges(run: Run, base: dict[str, Any], flt: Filter, idf: str,
                   wrapper: str | None, cursor: int, top: int, remaining: int
                   ) -> list[tuple[int, int | None, int | None]]:
    """Cut (cursor, top] into equal-width ranges and count each (cheap: one filtered count).

    Why count: a chained page after a short one gets the server's partial ``$result`` value
    (a whole array) as its ``>ID``, which no server handles well; knowing each range's size
    lets a batch carry the pages it needs and no page after the last short one.
    """
    span = top - cursor
    k = max(1, math.ceil(max(remaining, 1) / (CHAIN * PAGE)))
    edges = sorted({cursor + round(span * i / k) for i in range(k + 1)})
    spans = list(itertools.pairwise(edges))
    cmds = {f"c{i}": (run.method, {**base, "select": [idf], "filter": flt(a, z + 1),
                                   "order": {idf: "ASC"}, "start": 0})
            for i, (a, z) in enumerate(spans)}
    try:
        res = resend_failed(run.portal, cmds, stop=run.stop.is_set)
    except PortalError as err:
        raise Failed([], err) from None
    counts = {key: int(r.total if r.total is not None else len(unwrap_rows(r.result, wrapper)))
              for key, r in res.items()}
    return [(a, z, counts[f"c{i}"]) for i, (a, z) in enumerate(spans) if counts[f"c{i}"] > 0]


def _pages_for(left: int | None, dense: bool) -> int:
    """How many chained pages the next request carries.

    Exactly the counted pages, so no page follows a short one — plus one more when the last
    counted page would be full and the range may hold rows the count missed: that page comes
    back empty in the same request, and proves the range is done without another request.
    """
    if left is None:
        return CHAIN
    n = math.ceil(max(left, 0) / PAGE)
    if not dense and left % PAGE == 0:
        n += 1
    return max(1, min(CHAIN, n))


def walk_range(run: Run, base: dict[str, Any], flt: Filter, idf: str, wrapper: str | None,
               after: int, last: int | None, expected: int | None) -> Rows:
    """Walk IDs in (after, last] with chained ``start=-1`` pages, 50 per request.

    Ends on a short page or at ``last`` (``None``: no upper end), never on ``expected``.
    """
    rows: Rows = []
    cursor = after
    attempt = 0
    path = f"[{wrapper}]" if wrapper else ""
    dense = last is not None and expected is not None and expected >= last - after
    while not run.stop.is_set():
        n = _pages_for(None if expected is None else expected - len(rows), dense)
        cmds: dict[str, tuple[str, dict[str, Any]]] = {}
        for i in range(n):
            f = flt(cursor, None if last is None else last + 1)
            if i:
                f[f">{idf}"] = f"$result[p{i - 1}]{path}[{PAGE - 1}][{idf}]"
            cmds[f"p{i}"] = (run.method, {**base, "filter": f, "order": {idf: "ASC"},
                                          "start": -1})
        try:
            # halt: after a refused page the later ones would read a missing $result and get
            # the server's partial-path value as their cursor; better they do not run at all
            res = run.batch(cmds, halt=True)
        except PortalError as err:  # the request loop already retried what it could
            raise Failed(rows, err) from None
        for i in range(n):
            r = res[f"p{i}"]
            if not r.ok:
                run.retry_or_raise(r.error, attempt, rows)  # type: ignore[arg-type]
                attempt += 1
                break
            attempt = 0
            page = unwrap_rows(r.result, wrapper)
            rows.extend(page)
            run.advance(len(page))
            if page:
                cursor = int(page[-1][idf])
            if len(page) < PAGE or (last is not None and cursor >= last):
                return rows  # a short page, or the top of the range: nothing left here
        # every page was full and the range goes on: continue from the cursor
    raise run.stopped(rows)
