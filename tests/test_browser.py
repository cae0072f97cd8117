"""The analyst's path in a real browser: JupyterLab, run all, tick three pairs, bind them.

Debian's chromium drives a JupyterLab server that this test starts on 127.0.0.1 with a temp
copy of ``notebooks/reconcile.ipynb``. The sandbox portal runs in *this* process and its URL
reaches the notebook's kernel as ``B24_WEBHOOK_URL``, so after clicking Bind the test asks the
sandbox over its own API which bindings exist: exactly the three ticked pairs must be new.

Recipe and pitfalls: research notebook-ux.md §B.2–B.3 (no browser download, ``--allow-root``,
``?reset`` and a temp workspace dir, run-all fired without awaiting it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from b24nb.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "reconcile.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage",
                 "--disable-gpu"]
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer at {url} within {timeout:.0f} s")


@contextlib.contextmanager
def lab_server(workdir: Path, env: dict[str, str]) -> Iterator[str]:
    """Start JupyterLab on 127.0.0.1 (token off, temp root and workspace); yield its URL."""
    port = free_port()
    (workdir / "ws").mkdir(exist_ok=True)
    (workdir / "config").mkdir(exist_ok=True)
    # no "get notified about news?" toast floating over the grid
    settings = workdir / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
            "--ServerApp.disable_check_xsrf=True", "--LabApp.expose_app_in_browser=True",
            f"--LabApp.workspaces_dir={workdir / 'ws'}", f"--ServerApp.root_dir={workdir}",
            f"--LabApp.user_settings_dir={workdir / 'settings'}",
            "--LabApp.news_url=", "--ServerApp.log_level=WARN"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # jupyter refuses to start as root without it
    log = (workdir / "lab.log").open("wb")
    proc = subprocess.Popen(args, cwd=workdir, env={**os.environ, **env,
                                                     "JUPYTER_CONFIG_DIR": str(workdir / "config")},
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        # the server and the kernels it started share one process group: end exactly that group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


def launch_chromium(playwright):  # -> Browser
    """Debian's chromium, headless; fails (never skips) when it is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install "
                    "chromium`, .ci/run does it); the browser test must not be skipped")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)


def open_and_run_all(page, url: str, name: str = "reconcile.ipynb") -> float:
    """Open the notebook, run all cells, wait for the grid; return seconds to its first page."""
    page.goto(f"{url}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell"
                           " && window.jupyterapp.shell.currentWidget", timeout=90_000)
    # the notebook's model is loaded, its cells exist and its kernel is idle: only then does
    # run-all run anything (fired earlier, it silently does nothing)
    page.wait_for_function("""() => { const w = window.jupyterapp.shell.currentWidget;
        if (!w || !w.context || !w.context.isReady || !w.content || !w.content.widgets
            || w.content.widgets.length === 0) return false;
        const k = w.sessionContext && w.sessionContext.session
                  && w.sessionContext.session.kernel;
        return w.sessionContext.isReady && k && k.status === 'idle'; }""", timeout=90_000)
    start = time.perf_counter()
    # fire and forget: awaiting this promise inside evaluate() hangs (notebook-ux.md B.3)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    try:
        page.locator(f"{ACTIVE} .b24nb-pool-row .b24nb-row").first.wait_for(
            state="attached", timeout=90_000)
    except Exception as exc:  # say what the notebook showed instead of a bare timeout
        shown = page.locator(f"{ACTIVE} .jp-OutputArea-output").all_inner_texts()
        raise AssertionError("the review grid never rendered; notebook outputs:\n"
                             + "\n---\n".join(t[-800:] for t in shown)) from exc
    return time.perf_counter() - start


def copy_notebook(target: Path, **params: object) -> None:
    """Copy the notebook with papermill-style overrides after its ``parameters`` cell."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    where = next(i for i, c in enumerate(nb.cells)
                 if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    nb.cells.insert(where + 1, nbformat.v4.new_code_cell(
        source, metadata={"tags": ["injected-parameters"]}))
    nbformat.write(nb, target)


def _bindings(url: str) -> set[tuple[int, int, int]]:
    """Every (order, owner, owner type) the sandbox reports over its REST API."""
    import b24nb

    portal = b24nb.connect(url, progress=False)
    frame = b24nb.load_bindings(portal, progress=False)
    return {(int(o), int(r.owner_id), int(r.owner_type_id))
            for o, r in zip(frame.index, frame.itertuples(), strict=True)}


def test_analyst_ticks_three_pairs_binds_them_and_exactly_those_are_bound(tmp_path, capsys):
    from playwright.sync_api import expect, sync_playwright

    from b24nb.sandbox import Sandbox

    copy_notebook(tmp_path / "reconcile.ipynb", PRETICK=False)  # the analyst ticks all three
    with Sandbox(seed=5, n_deals=300, n_orders=360, limits=False, latency=False) as sb:
        before = _bindings(sb.url)
        env = {"B24_WEBHOOK_URL": sb.url, "B24NB_JOURNAL": str(tmp_path / "journal.sqlite")}
        with lab_server(tmp_path, env) as url, sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            seconds = open_and_run_all(page, url)
            with capsys.disabled():  # the figure shows even without -s
                print(f"\nrun-all → first rendered page: {seconds:.2f} s")

            panel = page.locator(ACTIVE)
            rows = panel.locator(".b24nb-pool-row")
            ticked: list[tuple[int, int, int]] = []  # (pair, order, deal)
            for i in range(rows.count()):
                if len(ticked) == 3:
                    break
                row = rows.nth(i)
                box = row.locator("input[type=checkbox]")
                if (not row.is_visible() or box.is_disabled() or box.is_checked()
                        or row.locator(".b24nb-rebind").count()):
                    continue  # greyed out, bound elsewhere today, or already ticked
                cell = row.locator(".b24nb-row")
                ticked.append((int(cell.get_attribute("data-pair-id")),
                               int(cell.get_attribute("data-order-id")),
                               int(cell.get_attribute("data-deal-id"))))
                box.check()
                # the kernel's answer: the frame now holds the tick and greyed the siblings
                expect(panel.get_by_role("button", name=f"Bind selected ({len(ticked)})")
                       ).to_be_visible(timeout=20_000)
            assert len(ticked) == 3, "fewer than three free pairs on the first page"

            panel.get_by_role("button", name="Bind selected (3)").click()
            expect(panel.locator(".b24nb-confirm")).to_contain_text("3 pair(s)")
            panel.get_by_role("button", name="Confirm").click()
            for pair, _order, _deal in ticked:
                status = panel.locator(f'.b24nb-row[data-pair-id="{pair}"] .b24nb-status')
                expect(status).to_have_text("bound", timeout=30_000)
            expect(panel.get_by_role("button", name="Bind selected (0)")).to_be_visible()
            assert not errors, errors
            browser.close()

        after = _bindings(sb.url)
        assert after - before == {(order, deal, 2) for _pair, order, deal in ticked}
        assert before - after == set()
