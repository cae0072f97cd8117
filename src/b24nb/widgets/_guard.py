"""The one guard every handler of the review grid runs through.

Why apart: it is generic (nothing of what the grid shows) and every part's handler goes
through it, the picker's own through the decorator and the other parts' through
``MatchPicker.handle``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any

__all__ = ["guarded"]


def guarded(method: Callable[..., None]) -> Callable[..., None]:
    """Run a widget handler at most once at a time and show any error it raises."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            # the frame lock: a background run writes the frame only while holding it
            with getattr(self, "lock", None) or contextlib.nullcontext():
                method(self, *args)
        except Exception as exc:  # shown to the analyst in the widget, not swallowed
            self.show_error(exc)
        finally:
            self._busy = False

    return wrapper
