"""Shared pieces of one ``Portal.list`` call: its state, the worker pool, small helpers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from b24nb.errors import PortalError
from b24nb.wire import CommandResult

log = logging.getLogger("b24nb.listing")

PAGE = 50
CHAIN = 50  # pages per batch request
_BAR_MIN_ROWS = 5_000  # shorter lists finish before a bar would tell anyone anything

Rows = list[dict[str, Any]]


class ListPortal(Protocol):
    """What a list needs of a portal (:class:`b24nb.portal.Portal` is one).

    Why a Protocol: the portal calls into the listing and the listing calls back into the
    portal; naming only these members breaks the import circle between the two modules.
    """

    max_workers: int

    @property
    def limiter(self) -> Any: ...

    @property
    def stats(self) -> Any: ...

    def batch(self, commands: Mapping[str, tuple[str, Mapping[str, Any]]], *,
              halt: bool = False) -> dict[str, CommandResult]: ...


class Failed(Exception):
    """A range stopped; carries its partial rows and the portal's error."""

    def __init__(self, rows: Rows, error: PortalError) -> None:
        super().__init__(str(error))
        self.rows = rows
        self.error = error


def get_param(params: Mapping[str, Any], name: str) -> Any:
    """``params[name]`` with the key compared case-insensitively (``FILTER`` = ``filter``)."""
    for k, v in params.items():
        if str(k).lower() == name:
            return v
    return None


def without(params: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """``params`` minus the given keys, compared case-insensitively."""
    return {k: v for k, v in params.items() if str(k).lower() not in names}


def unwrap(result: Any, wrapper: str | None) -> Rows:
    """The rows of one page: ``result[wrapper]`` for engine methods, ``result`` otherwise."""
    if wrapper is not None and isinstance(result, Mapping):
        result = result.get(wrapper, [])
    elif isinstance(result, Mapping):  # unknown method: take the one list inside, if any
        lists = [v for v in result.values() if isinstance(v, list)]
        result = lists[0] if len(lists) == 1 else list(result.values())
    return list(result or [])


def as_int(v: Any) -> int | None:
    try:
        return None if v is None or isinstance(v, bool) else int(v)
    except (TypeError, ValueError):
        return None


class Run:
    """Shared state of one list call: portal, progress, stop flag, retry policy."""

    def __init__(self, portal: ListPortal, method: str, progress: bool) -> None:
        self.portal = portal
        self.method = method
        self.stop = threading.Event()
        self.progress = progress
        self.spare = 0  # requests the walk may add to cut its batches shorter
        self.shared: Any = None  # a SharedProbe its first request goes through, if any
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

    def stopped(self, rows: Rows) -> Failed:
        return Failed(rows, PortalError("STOPPED", "the list was stopped", method=self.method))

    def retry_or_raise(self, err: PortalError, attempt: int, rows: Rows) -> None:
        """Back off before retrying a failed command, or raise when it is final.

        ``attempt`` counts failures *in a row*: callers reset it after progress, so a long
        walk that sits out several operating-time resets does not run out of retries.
        """
        if self.stop.is_set() or not err.transient:
            raise Failed(rows, err)
        self.portal.limiter.on_error(err, [self.method])
        if not self.portal.limiter.backoff(err, attempt):
            raise Failed(rows, err)
        self.portal.stats._add("retries")


def ordered(run: Run, tasks: list[Callable[[], Rows]]) -> Iterator[Rows]:
    """Run tasks on a few threads; yield their rows in task order.

    On a failure the rows of every task that already finished are handed on, so the error
    carries everything fetched.
    """
    if not tasks:
        return
    workers = min(run.portal.max_workers, len(tasks))
    if workers == 1:
        for t in tasks:
            yield t()
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="b24nb-list")
    futures: list[Future[Rows]] = [pool.submit(t) for t in tasks]
    try:
        for i, fut in enumerate(futures):
            try:
                rows = fut.result()
            except Failed as f:
                run.stop.set()
                later: Rows = []
                for other in futures[i + 1:]:
                    if other.done() and not other.cancelled() and other.exception() is None:
                        later.extend(other.result())
                raise Failed(f.rows + later, f.error) from None
            yield rows
    finally:
        run.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
