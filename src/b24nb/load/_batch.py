"""Run many independent read commands through ``portal.batch``, 50 per HTTP request.

Why here and not in the portal: the loaders need a progress bar in their own units (orders,
contacts) and a per-command policy for "this record vanished meanwhile", which is a loader
decision, not a transport one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tqdm.auto import tqdm

from b24nb.errors import PortalError

__all__ = ["BATCH_SIZE", "chunks", "run_batched"]

BATCH_SIZE = 50  # the server runs at most 50 commands of one batch
_ATTEMPTS = 4
_SKIPPED = object()
log = logging.getLogger(__name__)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_batched(
    portal: Any,
    commands: Iterable[tuple[str, tuple[str, dict[str, Any]]]],
    total: int,
    *,
    desc: str,
    progress: bool,
    skip: Callable[[PortalError], bool] = lambda error: False,
) -> Iterator[tuple[str, Any]]:
    """Yield ``(key, result)`` for every command, one ``portal.batch`` request per 50.

    ``portal.batch`` returns per-command errors instead of raising them. A transient one (a
    command refused by the operating-time limit, a server hiccup) is sent again — these are
    reads, so resending is safe, and the portal's limiter has already noted the block and
    waits before the next request. Any other failure raises, unless ``skip(error)`` says it
    means "no such record" (the key is then left out): a partial answer must never pass for
    a complete one.

    Several batches are in flight at once (up to ``portal.max_workers``): a heavy read such as
    ``sale.order.get`` spends most of its time on the server, and the portal answers
    concurrent requests in parallel. The shared request bucket in the portal still paces
    them, so this never sends faster than the portal allows. Results are yielded in order.
    """
    pending = list(commands)
    parts = list(chunks(pending, BATCH_SIZE))
    workers = max(1, min(int(getattr(portal, "max_workers", 1)), 4, len(parts)))

    def run(chunk: Sequence[tuple[str, tuple[str, dict[str, Any]]]]) -> list[tuple[str, Any]]:
        return _run_chunk(portal, chunk, desc=desc, skip=skip)

    with (
        tqdm(total=total, desc=desc, disable=not progress, leave=False) as bar,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="b24nb-load") as pool,
    ):
        futures = [pool.submit(run, chunk) for chunk in parts]
        try:
            for chunk, future in zip(parts, futures, strict=True):
                yield from future.result()
                bar.update(len(chunk))
        finally:
            for future in futures:  # an error or an abandoned generator: stop what has not begun
                future.cancel()


def _run_chunk(
    portal: Any,
    chunk: Sequence[tuple[str, tuple[str, dict[str, Any]]]],
    *,
    desc: str,
    skip: Callable[[PortalError], bool],
) -> list[tuple[str, Any]]:
    """Run one batch of at most 50 read commands, resending transient failures.

    How long to wait and when to give up is :func:`b24nb.limits.retry_delay`'s decision, as
    for every other request: a command refused by the operating-time limit is held until the
    method's reset and asked again for as long as the portal's window can take to free up.
    ``attempt`` counts failures in a row; a round in which some commands went through resets it.
    """
    done: dict[str, Any] = {}
    todo = dict(chunk)
    attempt = 0
    while todo:
        answers = portal.batch(todo)
        again: dict[str, tuple[str, dict[str, Any]]] = {}
        failure: PortalError | None = None
        for key, command in todo.items():
            answer = answers[key]
            error = answer.error
            if answer.ok:
                done[key] = answer.result
            elif error is not None and skip(error):
                done[key] = _SKIPPED
            elif error is not None and error.transient:
                again[key] = command
                failure = failure or error
            else:
                raise error or PortalError("", "batch command failed", method=desc)
        if not again or failure is None:
            break
        if len(again) < len(todo):
            attempt = 0
        if not _back_off(portal, failure, attempt):
            raise failure
        attempt += 1
        log.info("%s: resending %d command(s) after %s", desc, len(again), failure.code)
        todo = again
    return [(key, done[key]) for key, _ in chunk if done[key] is not _SKIPPED]


def _back_off(portal: Any, error: PortalError, attempt: int) -> bool:
    """Wait as the portal's limiter says before resending; False when it says give up."""
    limiter = getattr(portal, "limiter", None)
    if limiter is None:  # a stand-in portal without limits: a few immediate retries
        return attempt < _ATTEMPTS
    limiter.on_error(error, [error.method] if error.method else [])
    if not limiter.backoff(error, attempt):
        return False
    stats = getattr(portal, "stats", None)
    if stats is not None:
        stats._add("retries")
    return True
