"""The review in a real browser: bulk ticks, filters, the breakdown, decisions, export, errors.

Debian's chromium (Playwright) drives JupyterLab on 127.0.0.1, one server for the module; the
kernels reach a sandbox portal running in this process through ``PORTAL_URL``. Recipe and
pitfalls: tests/test_browser.py and research notebook-ux.md §B.2–B.3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from test_browser import ACTIVE, copy_notebook, lab_server, launch_chromium, open_and_run_all

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def portal_url() -> Iterator[str]:
    from b24nb.sandbox import Sandbox

    with Sandbox(seed=5, n_deals=300, n_orders=360, limits=False, latency=False) as sb:
        yield sb.url


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("lab")
    env = {"B24NB_JOURNAL": str(root / "journal.sqlite")}
    with lab_server(root, env) as url:
        yield url, root


@pytest.fixture
def page(lab) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        tab = browser.new_page(viewport={"width": 1600, "height": 1200})
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        browser.close()
        assert not errors, errors


def button(panel, name: str):
    return panel.get_by_role("button", name=name)  # icon buttons: the name has a leading space


def bind_count(panel) -> int:
    # text_content: JupyterLab skips rendering off-screen cells, so inner_text may be empty
    text = panel.get_by_role("button", name=re.compile(r"Bind selected \(")).text_content()
    return int(re.search(r"\(([\d,]+)\)", text).group(1).replace(",", ""))


def show(panel, label: str) -> None:
    panel.locator(".widget-dropdown", has_text="show").locator("select").select_option(label)


def run_all(page, url: str, name: str) -> None:
    """Run the notebook and wait until its last cell ran and the kernel is idle.

    Clicks sent while later cells (charts, export) still run would wait in the kernel's
    queue behind them; on a loaded machine longer than an expect() timeout.
    """
    open_and_run_all(page, url, name)
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        const cells = w.content.widgets.filter(c => c.model.type === 'code');
        const last = cells[cells.length - 1];
        const k = w.sessionContext.session.kernel;
        return last && last.model.executionCount !== null && k.status === 'idle'; }""",
                           timeout=120_000)
    page.locator(f"{ACTIVE} .b24nb-summary").first.scroll_into_view_if_needed()


def wait_until_every_row_has(page, css: str) -> None:
    """Wait for the kernel's redraw: every shown row matches ``css`` (and one row is shown)."""
    page.wait_for_function(
        """([panel, css]) => { const rows = [...document.querySelectorAll(
               panel + ' .b24nb-pool-row')].filter(e => e.offsetParent !== null);
           return rows.length > 0 && rows.every(r => r.querySelector(css)); }""",
        arg=[ACTIVE, css], timeout=30_000)


def visible_rows(panel):
    return panel.locator(".b24nb-pool-row:visible")


def test_bulk_ticks_keep_the_rule_untick_all_under_a_filter_breakdown_and_export(
        lab, page, portal_url):
    from playwright.sync_api import expect

    url, root = lab
    export = root / "grid-log.xlsx"
    copy_notebook(root / "bulk.ipynb", PORTAL_URL=portal_url, EXPORT=str(export))
    run_all(page, url, "bulk.ipynb")
    panel = page.locator(ACTIVE)
    pre_ticked = bind_count(panel)
    assert pre_ticked > 0

    # Tick all ≥ ticks what the pre-tick did: the same count, and no rebind among them
    button(panel, "Untick all").click()
    expect(panel.get_by_role("button", name="Bind selected (0)")).to_be_visible(timeout=30_000)
    button(panel, "Tick all ≥ threshold").click()
    expect(panel.get_by_role("button", name=f"Bind selected ({pre_ticked:,})")).to_be_visible(
        timeout=30_000)
    expect(panel.locator(".b24nb-message")).to_contain_text("no rebinds")
    show(panel, "rebind warning")
    wait_until_every_row_has(page, ".b24nb-rebind")  # the filtered page has replaced the old
    rows = visible_rows(panel)
    assert rows.count() > 0
    for i in range(rows.count()):
        assert not rows.nth(i).locator("input[type=checkbox]").is_checked()

    # Untick all under the "selected" filter: the view empties and the count reads 0
    show(panel, "selected")
    wait_until_every_row_has(page, "input[type=checkbox]:checked")
    button(panel, "Untick all").click()
    expect(panel.get_by_role("button", name="Bind selected (0)")).to_be_visible(timeout=30_000)
    expect(visible_rows(panel)).to_have_count(0, timeout=30_000)
    expect(panel.locator(".b24nb-message")).to_contain_text(f"unticked all {pre_ticked:,}")

    # expand a row's breakdown: one bar per evidence field, then the total
    show(panel, "all")
    first = visible_rows(panel).first
    expect(first).to_be_visible(timeout=30_000)
    breakdown = first.locator(".b24nb-breakdown")
    expect(breakdown).to_be_hidden()
    first.get_by_text("why this score").click()
    expect(breakdown).to_be_visible()
    fields = first.locator(".b24nb-ev")
    assert fields.count() >= 3
    assert fields.last.get_attribute("data-field") == "total"
    expect(panel.locator(".b24nb-header")).to_contain_text("score")
    href = first.locator("a.b24nb-deal-link").get_attribute("href")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/crm/deal/details/\d+/", href)
    assert first.locator("a.b24nb-deal-link").get_attribute("target") == "_blank"

    # Export writes the file now (Run All wrote nothing: nothing was sent or decided)
    assert not export.exists()
    first.locator(".b24nb-decide select").select_option("unsure")
    expect(first.locator(".b24nb-decision")).to_have_text("unsure", timeout=30_000)
    button(panel, "Export").click()
    expect(panel.locator(".b24nb-message")).to_contain_text("exported 1 row(s)", timeout=30_000)
    log = pd.read_excel(export, index_col=0)
    assert log["decision"].tolist() == ["unsure"]
    assert {"bind_status", "bind_error", "bind_at", "decided_at"} <= set(log.columns)


def test_a_rejected_pair_stays_rejected_after_suggest_runs_again(lab, page, portal_url):
    from playwright.sync_api import expect

    url, root = lab
    copy_notebook(root / "reject.ipynb", PORTAL_URL=portal_url)
    run_all(page, url, "reject.ipynb")
    panel = page.locator(ACTIVE)
    rows = visible_rows(panel)
    row = next(rows.nth(i) for i in range(rows.count())  # a pair that arrived ticked
               if rows.nth(i).locator("input[type=checkbox]").is_checked())
    cell = row.locator(".b24nb-row")
    order, deal = cell.get_attribute("data-order-id"), cell.get_attribute("data-deal-id")
    row.locator(".b24nb-decide select").select_option("reject")
    expect(row.locator(".b24nb-decision")).to_have_text("rejected", timeout=30_000)
    expect(row.locator("input[type=checkbox]")).not_to_be_checked()
    expect(row.locator("input[type=checkbox]")).to_be_disabled()

    # a new kernel: decisions come from the journal, suggest runs again with them
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.sessionContext.session"
                  ".kernel.restart(); }")
    page.wait_for_timeout(3000)
    run_all(page, url, "reject.ipynb")
    panel = page.locator(ACTIVE)
    expect(panel.locator(".b24nb-progress-line")).to_contain_text("orders reviewed",
                                                                   timeout=30_000)
    show(panel, "rejected")
    # the one rejected pair is all the filter shows (none, once suggest drops it); the grid
    # is drawn (its progress line is), and a page's unused rows leave the DOM, so the count
    # falls from a full page to one or none
    page.wait_for_function(
        f"() => document.querySelector('{ACTIVE} .b24nb-progress-line') !== null && "
        f"[...document.querySelectorAll('{ACTIVE} .b24nb-pool-row')]"
        ".filter(e => e.offsetParent !== null).length <= 1", timeout=30_000)
    selector = f'.b24nb-row[data-order-id="{order}"][data-deal-id="{deal}"]'
    same = panel.locator(f".b24nb-pool-row:visible {selector}")
    # suggest(decisions=) drops a rejected pair (issue 10); until then it is shown rejected
    if same.count():
        expect(same.locator(".b24nb-decision")).to_have_text("rejected")
        holder = panel.locator(".b24nb-pool-row:visible", has=page.locator(selector))
        expect(holder.locator("input[type=checkbox]")).not_to_be_checked()
    decided = panel.locator(".b24nb-pool-row:visible")
    assert decided.count() == same.count()


def test_a_wrong_webhook_url_gives_one_line_in_the_notebook(lab, page, portal_url):
    from playwright.sync_api import expect

    url, root = lab
    wrong = portal_url.rstrip("/").rsplit("/", 1)[0] + "/wrongS3cretValue/"
    copy_notebook(root / "wrong.ipynb", PORTAL_URL=wrong)
    page.goto(f"{url}/lab/tree/wrong.ipynb?reset", wait_until="domcontentloaded")
    page.wait_for_function("""() => { const w = window.jupyterapp && window.jupyterapp.shell
        && window.jupyterapp.shell.currentWidget;
        if (!w || !w.context || !w.context.isReady || !w.content
            || w.content.widgets.length === 0) return false;
        const k = w.sessionContext && w.sessionContext.session
                  && w.sessionContext.session.kernel;
        return w.sessionContext.isReady && k && k.status === 'idle'; }""", timeout=90_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    panel = page.locator(ACTIVE)
    error = panel.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    expect(error.first).to_be_visible(timeout=90_000)
    assert error.count() == 1
    expect(error.first).to_contain_text("ConnectError", timeout=30_000)
    text = (error.first.text_content() or "").strip()
    assert len(text.splitlines()) == 1, text
    assert text.startswith("ConnectError: bad webhook secret")
    # the parameters cell's source holds the URL as typed; no output may repeat it
    outputs = "".join(panel.locator(".jp-OutputArea").all_text_contents())
    assert "ConnectError" in outputs  # the outputs were read
    assert "wrongS3cretValue" not in outputs
