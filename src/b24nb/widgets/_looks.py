"""One grid's shared layouts and styles: a widget model for each distinct look, not each control.

Why: every ipywidgets control brings a ``Layout`` model and (most) a style model of its own
unless it is handed one, and the browser must take in every model — one comm message each,
through the Jupyter server — before it draws the first row. The review grid had 251 models;
in Debian's chromium on a 2-core machine each costs about 2 ms of the page's main thread, and
the kernel a fraction of that to create. Controls that look alike share one layout and one
style here. A control whose layout is changed later (a bar shown and hidden, the *Stop*
button) must keep a layout of its own: it is built with ``w.Layout`` directly, never here.
"""

from __future__ import annotations

from typing import Any, TypeVar

import ipywidgets as w

__all__ = ["Looks"]

W = TypeVar("W", bound=w.DOMWidget)


class Looks:
    """Layouts by their CSS, styles by their class; each made once, then handed out again.

    >>> looks = Looks()
    >>> looks.layout(width="80px") is looks.layout(width="80px")
    True
    >>> a, b = looks.make(w.Button, description="a"), looks.make(w.Button, description="b")
    >>> a.layout is b.layout and a.style is b.style
    True
    """

    def __init__(self) -> None:
        self._layouts: dict[tuple[tuple[str, str], ...], w.Layout] = {}
        self._styles: dict[type, w.Widget] = {}

    def layout(self, **css: str) -> w.Layout:
        """The shared layout with exactly these CSS properties (never change it afterwards)."""
        key = tuple(sorted(css.items()))
        found = self._layouts.get(key)
        if found is None:
            found = self._layouts[key] = w.Layout(**css)
        return found

    def style(self, kind: type) -> w.Widget:
        """The shared default style of class ``kind`` (``w.ButtonStyle``…)."""
        found = self._styles.get(kind)
        if found is None:
            found = self._styles[kind] = kind()
        return found

    def make(self, cls: type[W], *args: Any, layout: dict[str, str] | None = None,
             **kwargs: Any) -> W:
        """``cls(*args, **kwargs)`` with the shared layout for ``layout`` (CSS properties)
        and, when ``cls`` has a style, the shared default style of its kind."""
        trait = cls.class_traits().get("style")
        if trait is not None and "style" not in kwargs:
            kwargs["style"] = self.style(trait.klass)
        return cls(*args, layout=self.layout(**(layout or {})), **kwargs)
