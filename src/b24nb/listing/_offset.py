"""Offset pages, for methods without a usable ID cursor or with a user ``order``.

Why the counts are checked: offset pages are only right while the list stands still. A row
deleted ahead of the reader shifts every later page by one, and the row that slides across a
page boundary is never seen — with no error from the portal. Every batched page reports the
portal's ``total`` again; if it differs from the first page's, or the rows read do not add up
to it, the list changed under us and we raise instead of returning a short or doubled list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from b24nb.errors import PortalError
from b24nb.listing._run import (
    CHAIN,
    PAGE,
    Failed,
    Rows,
    Run,
    get_param,
    ordered,
    unwrap,
    without,
)


def _changed(run: Run, total: int, seen: int | None = None) -> PortalError:
    got = f"; {seen} rows came back" if seen is not None else ""
    return PortalError("LIST_CHANGED", f"the list changed while it was read by offset pages "
                       f"(the portal first counted {total}{got}); read it again",
                       method=run.method)


def offset_pages(run: Run, params: dict[str, Any], wrapper: str | None,
                 default_order: dict[str, str] | None, id_field: str | None = None
                 ) -> Iterator[Rows]:
    """Yield every row by ``start`` offsets: the first page, then 50 pages per batch."""
    base = without(params, "start")
    order = get_param(params, "order")
    if not order and default_order:
        base["order"] = default_order  # a unique order keeps offset pages from overlapping
    elif (id_field and isinstance(order, Mapping)
          and id_field.lower() not in {str(k).lower() for k in order}):
        # rows that tie on the user's order may swap places between two page queries, so
        # one is read twice and another never: the ID breaks every tie
        base = {**without(base, "order"), "order": {**order, id_field: "ASC"}}
    first = run.portal.call_full(run.method, {**base, "start": 0})
    rows = unwrap(first.result, wrapper)
    total = first.total
    run.open_bar(total)
    run.advance(len(rows))
    yield rows
    if total is None:  # a method that does not count: follow `next`, one page at a time
        nxt = first.next
        while nxt is not None:
            resp = run.portal.call_full(run.method, {**base, "start": nxt})
            page = unwrap(resp.result, wrapper)
            run.advance(len(page))
            yield page
            if resp.next is not None and resp.next <= nxt:
                raise Failed([], PortalError("BAD_NEXT", f"next={resp.next} after "
                                             f"start={nxt}", method=run.method))
            nxt = resp.next
        return
    start = first.next if first.next is not None else len(rows)
    offsets = list(range(int(start), int(total), PAGE))
    chunks = [offsets[i:i + CHAIN] for i in range(0, len(offsets), CHAIN)]
    seen = len(rows)
    tasks = [(lambda c=c: _offset_chunk(run, base, wrapper, c, total)) for c in chunks]
    for chunk in ordered(run, tasks):
        seen += len(chunk)
        yield chunk
    if seen != total:
        raise Failed([], _changed(run, total, seen))


def _offset_chunk(run: Run, base: dict[str, Any], wrapper: str | None, offsets: list[int],
                  total: int) -> Rows:
    pages: dict[int, Rows] = {}
    attempt = 0

    def prefix() -> Rows:  # hand on only the unbroken prefix, so rows stay in order
        out: Rows = []
        for o in offsets:
            if o not in pages:
                break
            out.extend(pages[o])
        return out

    while len(pages) < len(offsets):
        if run.stop.is_set():
            raise run.stopped([])
        todo = [o for o in offsets if o not in pages]
        cmds = {f"o{o}": (run.method, {**base, "start": o}) for o in todo}
        try:
            res = run.batch(cmds)
        except PortalError as err:  # the request loop already retried what it could
            raise Failed(prefix(), err) from None
        failed = _take_pages(run, res, todo, pages, wrapper, total, prefix)
        if failed is not None:
            if len(pages) > len(offsets) - len(todo):
                attempt = 0  # progress: count failures in a row only
            run.retry_or_raise(failed, attempt, prefix())
            attempt += 1
    return [r for o in offsets for r in pages[o]]


def _take_pages(run: Run, res: Mapping[str, Any], todo: list[int], pages: dict[int, Rows],
                wrapper: str | None, total: int, prefix: Callable[[], Rows]
                ) -> PortalError | None:
    """Keep the pages that came back (raising if the list's count moved); the first error."""
    failed = None
    for o in todo:
        r = res[f"o{o}"]
        if r.ok:
            if r.total is not None and r.total != total:
                raise Failed(prefix(), _changed(run, total))
            pages[o] = unwrap(r.result, wrapper)
            run.advance(len(pages[o]))
        elif failed is None:
            failed = r.error
    return failed
