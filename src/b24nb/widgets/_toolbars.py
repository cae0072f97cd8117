"""The review grid's bars of controls, built once: filters, ticks, pager, run, confirm, progress.

Why apart from :mod:`b24nb.widgets.picker`: which widgets a bar holds, their labels, icons and
widths are fixed when the grid is built and never read back; the picker only lays the bars
out and wires them. The labels are what the analyst (and the browser tests) click by, so they
stay word for word. Their layouts and styles come from the grid's :class:`~._looks.Looks`,
except where a bar is shown and hidden later (its layout is its own).
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as w

from b24nb.widgets._looks import Looks
from b24nb.widgets._options import ReviewOptions
from b24nb.widgets._view import SORTS, STATUS_FILTERS

__all__ = ["ConfirmBar", "FilterBar", "Pager", "ProgressBar", "RunBar", "TickBar", "confirm_bar",
           "filter_bar", "pager", "progress_bar", "run_bar", "tick_bar"]


class FilterBar(NamedTuple):
    """Which pairs show, in which order, how many per page."""

    search: w.Text
    band: w.FloatRangeSlider
    status_filter: w.Dropdown
    sort: w.Dropdown
    page_size: w.Dropdown


def filter_bar(page_size: int, looks: Looks) -> FilterBar:
    """The filter bar; ``page_size`` above 25 starts at 50 rows, else at 25."""
    return FilterBar(
        looks.make(w.Text, placeholder="search deal, order, customer, reasons…",
                   continuous_update=False, layout={"width": "260px"}),
        looks.make(w.FloatRangeSlider, value=(0.0, 1.0), min=0.0, max=1.0, step=0.01,
                   description="score", continuous_update=False, readout_format=".2f",
                   layout={"width": "300px"}),
        looks.make(w.Dropdown, options=STATUS_FILTERS, value="all", description="show",
                   layout={"width": "200px"}),
        looks.make(w.Dropdown, options=list(SORTS), value="score ↓", description="sort",
                   layout={"width": "180px"}),
        looks.make(w.Dropdown, options=[25, 50], value=50 if page_size > 25 else 25,
                   description="rows", layout={"width": "130px"}))


class TickBar(NamedTuple):
    """The threshold slider and the tick buttons of the page and the view."""

    threshold: w.FloatSlider
    tick_above_button: w.Button
    tick_page_button: w.Button
    untick_page_button: w.Button


#: buttons as wide as their label: never "Tick all ≥ thres…"
AUTO = {"width": "auto"}


def tick_bar(threshold: float, looks: Looks) -> TickBar:
    """The tick bar."""
    return TickBar(
        looks.make(w.FloatSlider, value=threshold, min=0.0, max=1.0, step=0.01,
                   description="tick ≥", readout_format=".2f", continuous_update=False,
                   layout={"width": "260px"}),
        looks.make(w.Button, description="Tick all ≥ threshold", icon="check-square",
                   layout=AUTO),
        looks.make(w.Button, description="Tick page", icon="check", layout=AUTO),
        looks.make(w.Button, description="Untick page", icon="square-o", layout=AUTO))


class Pager(NamedTuple):
    """Prev, where we are, Next."""

    prev_button: w.Button
    next_button: w.Button
    page_label: w.Label


def pager(looks: Looks) -> Pager:
    return Pager(looks.make(w.Button, description="Prev", icon="chevron-left",
                            layout={"width": "80px"}),
                 looks.make(w.Button, description="Next", icon="chevron-right",
                            layout={"width": "80px"}),
                 looks.make(w.Label))


class RunBar(NamedTuple):
    """What starts a run: Bind, its two toggles, Retry, Undo."""

    bind_button: w.Button
    dry_run: w.Checkbox
    allow_rebind: w.Checkbox
    retry_button: w.Button
    undo_button: w.Button


def run_bar(options: ReviewOptions, looks: Looks, *, can_bind: bool) -> RunBar:
    """The run bar; without a portal (``can_bind`` false) Bind and Retry say why they are off."""
    bar = RunBar(
        looks.make(w.Button, description="Bind selected (0)", button_style="primary",
                   icon="link", layout={"width": "190px"}),
        looks.make(w.Checkbox, value=options.dry_run, description="dry run", indent=False,
                   layout={"width": "90px"}),
        looks.make(w.Checkbox, value=options.allow_rebind, description="allow rebind",
                   indent=False, layout={"width": "120px"}),
        looks.make(w.Button, description="Retry failed (0)", icon="repeat", layout=AUTO),
        looks.make(w.Button, description="Undo last run", icon="undo", disabled=True,
                   layout=AUTO))
    for button in (bar.bind_button, bar.retry_button):
        button.disabled = not can_bind
        button.tooltip = "" if can_bind else "pass portal= to bind from here"
    return bar


class ConfirmBar(NamedTuple):
    """What a run would send, and Confirm/Cancel; hidden until a run is proposed."""

    confirm_html: w.HTML
    confirm_button: w.Button
    cancel_button: w.Button
    confirm_box: w.VBox


def confirm_bar(looks: Looks) -> ConfirmBar:
    text = looks.make(w.HTML)
    confirm = looks.make(w.Button, description="Confirm", button_style="danger")
    cancel = looks.make(w.Button, description="Cancel")
    box = w.VBox([text, looks.make(w.HBox, [confirm, cancel])], layout=w.Layout(display="none"))
    return ConfirmBar(text, confirm, cancel, box)


class ProgressBar(NamedTuple):
    """The bar, its label and Stop of a run going on; hidden until one starts."""

    progress: w.IntProgress
    progress_label: w.Label
    stop_button: w.Button
    progress_box: w.HBox


def progress_bar(looks: Looks) -> ProgressBar:
    bar = looks.make(w.IntProgress, value=0, min=0, max=1, bar_style="info",
                     layout={"width": "300px"})
    label = looks.make(w.Label)
    stop = w.Button(description="Stop", icon="stop", button_style="warning",
                    tooltip="finish the batches in flight, send nothing more",
                    style=looks.style(w.ButtonStyle),
                    layout=w.Layout(width="auto", display="none"))
    box = w.HBox([bar, label, stop], layout=w.Layout(display="none", align_items="center"))
    return ProgressBar(bar, label, stop, box)
