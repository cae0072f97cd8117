"""Review-grid costs: page change on a 1,000,000-pair frame, and run-all → first page.

Why these two: a page change is what the analyst does hundreds of times, so it must cost
O(page) (budget 100 ms in the kernel); run-all → first rendered page is what they wait for
once per session (measured in a real JupyterLab with Debian's chromium, ``--browser``).

Usage::

    python benchmarks/bench_widget.py            # 1,000,000 pairs, kernel-side figures
    python benchmarks/bench_widget.py --quick    # 100,000 pairs
    python benchmarks/bench_widget.py --browser  # also JupyterLab run-all → first page
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _line(name: str, seconds: list[float]) -> None:
    ms = [1000 * s for s in seconds]
    print(f"{name:<44} median {statistics.median(ms):8.2f} ms   max {max(ms):8.2f} ms"
          f"   (n={len(ms)})")


def kernel_side(n: int) -> None:
    from b24nb.widgets import review
    from b24nb.widgets._synthetic import synthetic_pairs

    start = time.perf_counter()
    pairs = synthetic_pairs(n, seed=1)
    print(f"synthetic pairs frame: {n:,} rows in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    picker = review(pairs, page_size=50)
    print(f"{'build the widget (sort, order index, histogram)':<44} "
          f"{1000 * (time.perf_counter() - start):8.1f} ms")
    _line("page change: Next (50 rows)", _timed(picker.next_button.click, 50))
    rng = np.random.default_rng(0)
    _line("page change: jump to a random page",
          _timed(lambda: picker.go_to_page(int(rng.integers(0, picker.n_pages))), 50))
    _line("tick one checkbox (write frame, redraw page)",
          _timed(lambda: setattr(picker.rows[int(rng.integers(0, 50))].checkbox, "value",
                                 not picker.rows[0].checkbox.value), 30))
    picker.sort.value = "order"
    _line("sort change (recompute the cached view)",
          _timed(lambda: setattr(picker.sort, "value",
                                 "score ↓" if picker.sort.value == "order" else "order"), 4))
    _line("score band change", _timed(lambda: setattr(
        picker.band, "value", (float(rng.uniform(0, 0.4)), 1.0)), 4))
    _line("text filter", _timed(lambda: setattr(
        picker.search, "value", f"deal for {rng.choice(['anna', 'john'])}"), 4))
    picker.search.value = ""
    picker.band.value = (0.0, 1.0)
    _line("page change after filters: Next", _timed(picker.next_button.click, 50))
    _line("tick all ≥ 0.95 (whole view)", _timed(picker.tick_above_button.click, 1))
    print(repr(picker))


def browser_side() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import tempfile

    from playwright.sync_api import sync_playwright

    from b24nb.sandbox import Sandbox
    from test_browser import copy_notebook, lab_server, launch_chromium, open_and_run_all

    with tempfile.TemporaryDirectory() as tmp, \
            Sandbox(seed=5, n_deals=300, n_orders=360, limits=False, latency=False) as sb:
        work = Path(tmp)
        copy_notebook(work / "reconcile.ipynb")
        env = {"B24_WEBHOOK_URL": sb.url, "B24NB_JOURNAL": str(work / "journal.sqlite")}
        with lab_server(work, env) as url, sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            seconds = open_and_run_all(page, url)
            browser.close()
        requests = sb.stats.http_requests
    print(f"JupyterLab run-all → first rendered page (sandbox 300 deals / 360 orders): "
          f"{seconds:.2f} s, {requests} HTTP requests to the portal")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 pairs instead of 1M")
    parser.add_argument("--browser", action="store_true", help="also time run-all in Lab")
    args = parser.parse_args()
    kernel_side(100_000 if args.quick else 1_000_000)
    if args.browser:
        browser_side()


if __name__ == "__main__":
    main()
