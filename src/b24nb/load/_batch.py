"""Run many independent read commands through ``portal.batch``, 50 per HTTP request.

Why here and not in the portal: the loaders need a progress bar in their own units (orders,
contacts) and a per-command policy for "this record vanished meanwhile", which is a loader
decision, not a transport one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tqdm.auto import tqdm

from b24nb.batching import headroom, resend_failed
from b24nb.errors import PortalError

__all__ = ["BATCH_SIZE", "chunks", "run_batched"]

BATCH_SIZE = 50  # the server runs at most 50 commands of one batch
_WORKERS = 4  # heavy per-record reads in flight at once
_SPREAD = 2  # requests a single batch's worth of commands may be split into


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
    most = max(1, min(int(getattr(portal, "max_workers", 1)), _WORKERS))
    size = BATCH_SIZE
    if BATCH_SIZE // 2 < len(pending) <= BATCH_SIZE and headroom(portal) >= _SPREAD:
        # one batch's worth: two half batches at once finish in half the time (a batch's
        # commands run one after another on the server); one request more stays within
        # the loaders' budgets (⌈N/2500⌉ + 3 for the list, ⌈contacts/2500⌉ for these)
        size = -(-len(pending) // _SPREAD)
    parts = list(chunks(pending, size))
    workers = max(1, min(most, len(parts)))

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
    """Run one batch of at most 50 read commands; :func:`b24nb.batching.resend_failed`
    resends the transient failures (how long to wait and when to give up is the limiter's
    decision, as for every other request)."""
    answers = resend_failed(portal, dict(chunk), skip=skip)
    return [(key, a.result) for key, a in answers.items() if a.ok]
