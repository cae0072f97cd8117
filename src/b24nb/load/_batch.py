"""Run many independent read commands through ``portal.batch``, 50 per HTTP request.

Why here and not in the portal: the loaders need a progress bar in their own units (orders,
contacts) and a per-command policy for "this record vanished meanwhile", which is a loader
decision, not a transport one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from tqdm.auto import tqdm

from b24nb.errors import PortalError

__all__ = ["BATCH_SIZE", "chunks", "run_batched"]

BATCH_SIZE = 50  # the server runs at most 50 commands of one batch


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

    A command that failed raises its error, unless ``skip(error)`` says the failure means
    "no such record" (then the key is left out): a partial answer must never pass for a
    complete one.
    """
    pending = list(commands)
    with tqdm(total=total, desc=desc, disable=not progress, leave=False) as bar:
        for chunk in chunks(pending, BATCH_SIZE):
            answers = portal.batch(dict(chunk))
            for key, _ in chunk:
                answer = answers[key]
                if not answer.ok:
                    if answer.error is not None and skip(answer.error):
                        continue
                    raise answer.error or PortalError("", "batch command failed", method=desc)
                yield key, answer.result
            bar.update(len(chunk))
