"""The review grid's bars of controls, built once: filters, ticks, pager, run, confirm, progress.

Why apart from :mod:`b24nb.widgets.picker`: which widgets a bar holds, their labels, icons and
widths are fixed when the grid is built and never read back; the picker only lays the bars
out and wires them. The labels are what the analyst (and the browser tests) click by, so they
stay word for word.
"""

from __future__ import annotations

from typing import NamedTuple

import ipywidgets as w

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


def filter_bar(page_size: int) -> FilterBar:
    """The filter bar; ``page_size`` above 25 starts at 50 rows, else at 25."""
    return FilterBar(
        w.Text(placeholder="search deal, order, customer, reasons…", continuous_update=False,
               layout=w.Layout(width="260px")),
        w.FloatRangeSlider(value=(0.0, 1.0), min=0.0, max=1.0, step=0.01, description="score",
                           continuous_update=False, readout_format=".2f",
                           layout=w.Layout(width="300px")),
        w.Dropdown(options=STATUS_FILTERS, value="all", description="show",
                   layout=w.Layout(width="200px")),
        w.Dropdown(options=list(SORTS), value="score ↓", description="sort",
                   layout=w.Layout(width="180px")),
        w.Dropdown(options=[25, 50], value=50 if page_size > 25 else 25, description="rows",
                   layout=w.Layout(width="130px")))


class TickBar(NamedTuple):
    """The threshold slider and the tick buttons of the page and the view."""

    threshold: w.FloatSlider
    tick_above_button: w.Button
    tick_page_button: w.Button
    untick_page_button: w.Button


def tick_bar(threshold: float, auto: w.Layout) -> TickBar:
    """The tick bar; ``auto`` is the grid's one layout for buttons as wide as their label."""
    return TickBar(
        w.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01, description="tick ≥",
                      readout_format=".2f", continuous_update=False,
                      layout=w.Layout(width="260px")),
        w.Button(description="Tick all ≥ threshold", icon="check-square", layout=auto),
        w.Button(description="Tick page", icon="check", layout=auto),
        w.Button(description="Untick page", icon="square-o", layout=auto))


class Pager(NamedTuple):
    """Prev, where we are, Next."""

    prev_button: w.Button
    next_button: w.Button
    page_label: w.Label


def pager() -> Pager:
    return Pager(w.Button(description="Prev", icon="chevron-left", layout=w.Layout(width="80px")),
                 w.Button(description="Next", icon="chevron-right",
                          layout=w.Layout(width="80px")),
                 w.Label())


class RunBar(NamedTuple):
    """What starts a run: Bind, its two toggles, Retry, Undo."""

    bind_button: w.Button
    dry_run: w.Checkbox
    allow_rebind: w.Checkbox
    retry_button: w.Button
    undo_button: w.Button


def run_bar(options: ReviewOptions, auto: w.Layout, *, can_bind: bool) -> RunBar:
    """The run bar; without a portal (``can_bind`` false) Bind and Retry say why they are off."""
    bar = RunBar(
        w.Button(description="Bind selected (0)", button_style="primary", icon="link",
                 layout=w.Layout(width="190px")),
        w.Checkbox(value=options.dry_run, description="dry run", indent=False,
                   layout=w.Layout(width="90px")),
        w.Checkbox(value=options.allow_rebind, description="allow rebind", indent=False,
                   layout=w.Layout(width="120px")),
        w.Button(description="Retry failed (0)", icon="repeat", layout=auto),
        w.Button(description="Undo last run", icon="undo", disabled=True, layout=auto))
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


def confirm_bar() -> ConfirmBar:
    text = w.HTML()
    confirm = w.Button(description="Confirm", button_style="danger")
    cancel = w.Button(description="Cancel")
    box = w.VBox([text, w.HBox([confirm, cancel])], layout=w.Layout(display="none"))
    return ConfirmBar(text, confirm, cancel, box)


class ProgressBar(NamedTuple):
    """The bar, its label and Stop of a run going on; hidden until one starts."""

    progress: w.IntProgress
    progress_label: w.Label
    stop_button: w.Button
    progress_box: w.HBox


def progress_bar() -> ProgressBar:
    bar = w.IntProgress(value=0, min=0, max=1, bar_style="info", layout=w.Layout(width="300px"))
    label = w.Label()
    stop = w.Button(description="Stop", icon="stop", button_style="warning",
                    tooltip="finish the batches in flight, send nothing more",
                    layout=w.Layout(width="auto", display="none"))
    box = w.HBox([bar, label, stop], layout=w.Layout(display="none", align_items="center"))
    return ProgressBar(bar, label, stop, box)
