"""The run path of the review grid on screen: confirmation, progress, Stop, summary line.

Why apart from :mod:`b24nb.widgets.picker`: the grid's layout and review tools are one concern;
rendering what the run controller (:mod:`b24nb.widgets._actions`) returns — a
:class:`~b24nb.widgets._actions.Proposal`, :class:`~b24nb.binding.control.Progress` from the
run's thread, a :class:`~b24nb.widgets._actions.RunResult` at its end — is another. It reaches
the grid only through the :class:`~b24nb.widgets._grid.RunGrid` protocol. The callbacks from
the run's thread touch widget values only (ipywidgets sends them from any thread) and redraw
the page under the grid's frame lock.
"""

from __future__ import annotations

import html

from b24nb.binding.control import Progress
from b24nb.widgets import _html
from b24nb.widgets._actions import Proposal, RunResult
from b24nb.widgets._grid import RunGrid

__all__ = ["RunView"]


class RunView:
    """Shows one grid's runs; ``grid`` is the :class:`~b24nb.widgets.picker.MatchPicker`.

    The ``propose``/``start``/``cancel``/``stop`` handlers run through the grid's guard
    (``MatchPicker.handle``); the ``on_*`` callbacks come from the run's thread.
    """

    def __init__(self, grid: RunGrid) -> None:
        self.grid = grid

    def propose(self, kind: str) -> None:
        """Bind, Retry or Undo was clicked: show what Confirm would send (undo: never dry)."""
        p = self.grid
        self.show_proposal(p.actions.propose(kind, dry_run=p.dry_run.value))

    def cancel(self) -> None:
        """Cancel was clicked: forget the proposal."""
        p = self.grid
        p.actions.cancel()
        p.confirm_box.layout.display = "none"
        p.say("cancelled: nothing was sent")

    def show_proposal(self, proposal: Proposal) -> None:
        """Show what Confirm would send, and how long it will take (or why nothing would)."""
        p = self.grid
        if proposal.empty:
            p.confirm_box.layout.display = "none"
            p.say(html.escape(proposal.message or "no pairs to send"))
            return
        p.confirm_html.value = _html.confirm_html(
            proposal.label, len(proposal.pair_ids), dry_run=proposal.dry_run,
            rebinds=proposal.rebinds, allow_rebind=p.allow_rebind.value,
            portal=repr(p.portal), preview=proposal.preview)
        if proposal.eta is not None:
            p.confirm_html.value += (f'<div class="b24nb-eta">{html.escape(proposal.eta.text)}'
                                     "</div>")
        p.confirm_box.layout.display = None
        p.say("")

    def start(self) -> None:
        """Confirm was clicked: start the proposed run in the background, show its bar."""
        p = self.grid
        proposal = p.actions.pending
        p.confirm_box.layout.display = "none"
        if proposal is None or p.actions.running:
            return
        p.progress.max = max(1, len(proposal.pair_ids))
        p.progress.value = 0
        p.progress.bar_style = "info"
        p.progress_label.value = f"0/{len(proposal.pair_ids):,}"
        p.progress_box.layout.display = None
        p.stop_button.layout.display = None
        p.stop_button.disabled = False
        for button in (p.bind_button, p.retry_button, p.undo_button):
            button.disabled = True
        p.say(html.escape(proposal.eta.text) if proposal.eta else "")
        p.actions.start(on_progress=self.on_progress, on_rows=self.on_rows,
                        on_done=self.on_done)
        p.render_page()  # ticks are held while the run goes

    def stop(self) -> None:
        """Stop was clicked: the batches in flight finish, nothing more is sent."""
        p = self.grid
        if p.actions.stop():
            p.stop_button.disabled = True
            p.progress_label.value += " · stopping: finishing the batches in flight"

    def on_progress(self, progress: Progress) -> None:
        """From the run's thread: done/total, rate, ETA and any wait."""
        p = self.grid
        done = min(p.actions.finished, p.progress.max)
        p.progress.value = done
        p.progress_label.value = progress.text.replace(
            f"{progress.done:,}/{progress.total:,}", f"{done:,}/{p.progress.max:,}", 1)

    def on_rows(self, _pair_ids: list) -> None:
        """From the run's thread, frame lock held: redraw the page with the new statuses."""
        p = self.grid
        p.progress.value = min(p.actions.finished, p.progress.max)
        p.render_page()

    def on_done(self, result: RunResult) -> None:
        """From the run's thread: counts, buttons, bar colour and the one-line summary."""
        p = self.grid
        with p.lock:
            p.stop_button.layout.display = "none"
            ok = result.ok and not result.stopped
            p.progress.bar_style = "success" if ok else ("warning" if result.ok else "danger")
            if ok:
                p.progress.value = p.progress.max
                p.progress_label.value = f"{p.progress.max:,}/{p.progress.max:,} done"
            can_bind = p.portal is not None
            p.bind_button.disabled = p.retry_button.disabled = not can_bind
            p.undo_button.disabled = p.actions.last_run_id is None
            try:
                p.refresh_counts()
                p.redraw()
            except Exception as exc:  # the statuses are in the frame; say the redraw broke
                p.show_error(exc)
                return
            line = html.escape(result.line)
            if result.error is not None:
                p.show_error(result.error)
                p.message.value += _html.message_html(line)
            elif result.redraw_error is not None:
                p.show_error(RuntimeError(
                    f"{result.line}; but the grid failed to redraw during the run (the run "
                    f"went on, the frame holds every status): {result.redraw_error}"))
            else:
                p.say(line)
