"""A long bind in the grid, in a real browser: the grid keeps answering, Stop stops, and
Bind selected finishes what was left.

JupyterLab and Debian's chromium as in ``tests/test_browser.py``. The sandbox runs in this
process with the seed's cost model (0.33 s an add) on a clock ×2, so one batch of 50 takes
~8 s and the 300-pair run a quarter of a minute: long enough to page, search and stop while
it goes. The portal is then read over its own API: every pair bound exactly once.
"""

from __future__ import annotations

import re
import time

import nbformat
import pytest

from b24nb.sandbox import Sandbox
from test_browser import ACTIVE, lab_server, launch_chromium, open_and_run_all

pytestmark = [pytest.mark.browser, pytest.mark.slow]

N = 300

CELL = f"""
import os
import numpy as np, pandas as pd
import b24nb
from b24nb.widgets._synthetic import synthetic_pairs

portal = b24nb.connect(os.environ["B24_WEBHOOK_URL"], progress=False)
ids = np.arange(1, {N} + 1)
pairs = synthetic_pairs({N}, seed=0)
pairs["order_id"] = pd.array(ids, dtype="Int64")
pairs["deal_id"] = pd.array(ids, dtype="Int64")
pairs["owner_type_id"] = pd.array([2] * {N}, dtype="Int64")
pairs["order_number"] = pd.array([f"N-{{i}}" for i in ids], dtype="string")
pairs["score"] = np.full({N}, 0.95)
for col in ("current_owner_id", "current_owner_type_id"):
    pairs[col] = pd.array([None] * {N}, dtype="Int64")
pairs["rebind"] = pd.array([False] * {N}, dtype="boolean")
pairs["selected"] = pd.array([True] * {N}, dtype="boolean")
picker = b24nb.review(pairs, portal=portal)
picker
"""


def within(seconds: float, check) -> float:
    """Poll ``check()`` until true; return how long it took (fail after ``seconds``)."""
    t0 = time.perf_counter()
    while not check():
        if time.perf_counter() - t0 > seconds:
            raise AssertionError(f"no answer within {seconds} s")
        time.sleep(0.02)
    return time.perf_counter() - t0


def test_grid_stays_responsive_during_a_run_stop_stops_and_bind_selected_finishes(
        tmp_path, capsys):
    from playwright.sync_api import expect, sync_playwright

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nbformat.write(nb, tmp_path / "run.ipynb")
    deals = [{"ID": i, "TITLE": f"Deal {i}"} for i in range(1, N + 1)]
    orders = [{"id": i, "accountNumber": f"A-{i}", "price": 10.0} for i in range(1, N + 1)]
    with Sandbox(demo=False, deals=deals, orders=orders, limits=True, latency=True,
                 time_scale=2) as sb:
        env = {"B24_WEBHOOK_URL": sb.url, "B24NB_JOURNAL": str(tmp_path / "journal.sqlite")}
        with lab_server(tmp_path, env) as url, sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            open_and_run_all(page, url, "run.ipynb")
            panel = page.locator(ACTIVE)
            label = panel.locator(".widget-label").filter(has_text=re.compile(r"^page \d"))

            panel.get_by_role("button", name=f"Bind selected ({N})").click()
            expect(panel.locator(".b24nb-confirm")).to_contain_text(f"{N} pair(s)")
            expect(panel.locator(".b24nb-eta")).to_contain_text("≈")
            panel.get_by_role("button", name="Confirm").click()
            stop = panel.get_by_role("button", name="Stop")
            expect(stop).to_be_visible(timeout=10_000)

            # during the run: Next answers within a second …
            before = label.inner_text()
            panel.get_by_role("button", name="Next").click()
            took_next = within(1.0, lambda: label.inner_text() != before
                               and "page 2/" in label.inner_text())
            # … and so does the search box
            search = panel.get_by_placeholder(re.compile("search"))
            search.fill("N-17")
            search.press("Enter")
            took_search = within(1.0, lambda: re.search(r"of 11$", label.inner_text())
                                 is not None)
            assert stop.is_visible(), "the run ended before the grid was tried"
            assert not sb.bindings() or len(sb.bindings()) < N
            with capsys.disabled():
                print(f"\nduring a run: Next {took_next:.2f} s, search {took_search:.2f} s")

            stop.click()
            message = panel.locator(".b24nb-message")
            expect(message).to_contain_text("stopped:", timeout=60_000)
            expect(message).to_contain_text("not sent — click Bind selected to finish")
            text = message.inner_text()
            bound = int(re.search(r"stopped: (\d+) bound", text).group(1))
            left = int(re.search(r"(\d+) not sent", text).group(1))
            assert bound + left == N
            assert len(sb.bindings()) == bound

            search.fill("")
            search.press("Enter")
            panel.get_by_role("button", name=f"Bind selected ({left})").click()
            panel.get_by_role("button", name="Confirm").click()
            expect(message).to_contain_text(f"done: {left} bound", timeout=90_000)
            expect(panel.get_by_role("button", name="Bind selected (0)")).to_be_visible()
            assert not errors, errors
            browser.close()
        assert sorted(b["orderId"] for b in sb.bindings()) == list(range(1, N + 1))
        assert all(b["ownerId"] == b["orderId"] for b in sb.bindings())
        assert sb.stats.method_calls["crm.orderentity.add"] == N  # nothing sent twice
