"""Review-grid costs: page change on a 1,000,000-pair frame, and run-all → first page.

Why these two: a page change is what the analyst does hundreds of times, so it must cost
O(page) (budget 100 ms in the kernel); run-all → first rendered page is what they wait for
once per session (measured in a real JupyterLab with Debian's chromium, ``--browser``).

Usage::

    python benchmarks/bench_widget.py            # 1,000,000 pairs, kernel-side figures
    python benchmarks/bench_widget.py --quick    # 100,000 pairs
    python benchmarks/bench_widget.py --browser  # also JupyterLab run-all → first page
    python benchmarks/bench_widget.py --browser-only --runs 3  # only that, three times
"""

from __future__ import annotations

import argparse
import os
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


def _byte_compile() -> None:
    """Write b24nb's bytecode before timing, as every run but the very first has it.

    An editable install leaves no ``.pyc`` files, and this machine sets
    ``PYTHONDONTWRITEBYTECODE``, so without this each kernel would compile b24nb's sources
    again — a cost a user pays once per install, not once per *Run All*.
    """
    import compileall

    import b24nb

    package = Path(b24nb.__file__).resolve().parent
    compileall.compile_dir(str(package), quiet=1)
    print(f"byte-compiled {package} (PYTHONDONTWRITEBYTECODE="
          f"{os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')})")


def browser_side(runs: int, byte_compile: bool = True) -> None:
    """Run All → first grid page in JupyterLab, on the demo portal the notebook itself starts.

    No ``B24_WEBHOOK_URL``: the notebook's ``connect()`` starts the default sandbox (2,000
    deals, 2,400 orders, limits and latency on) in the kernel, exactly as for a new user, so
    the figure includes starting it. The journal and the cache go to a temporary folder.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import tempfile

    from playwright.sync_api import sync_playwright

    from test_browser import copy_notebook, lab_server, launch_chromium, open_and_run_all

    os.environ.pop("B24_WEBHOOK_URL", None)
    if byte_compile:
        _byte_compile()
    seconds: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            copy_notebook(work / "reconcile.ipynb")
            env = {"B24NB_JOURNAL": str(work / "journal.sqlite"),
                   "B24NB_CACHE": str(work / "cache")}
            with lab_server(work, env) as url, sync_playwright() as pw:
                browser = launch_chromium(pw)
                page = browser.new_page(viewport={"width": 1500, "height": 1100})
                seconds.append(open_and_run_all(page, url))
                browser.close()
    print(f"JupyterLab Run All → first rendered grid page, default demo portal (2,000 deals, "
          f"2,400 orders, limits and latency on), {runs} run(s): "
          + ", ".join(f"{s:.2f} s" for s in seconds)
          + f"; median {statistics.median(seconds):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 pairs instead of 1M")
    parser.add_argument("--browser", action="store_true", help="also time run-all in Lab")
    parser.add_argument("--browser-only", action="store_true", help="only time run-all in Lab")
    parser.add_argument("--runs", type=int, default=0, help="run-all repetitions (3; quick 1)")
    parser.add_argument("--no-byte-compile", action="store_true",
                        help="leave b24nb's bytecode as it is (a first run after installing)")
    args = parser.parse_args()
    if not args.browser_only:
        kernel_side(100_000 if args.quick else 1_000_000)
    if args.browser or args.browser_only:
        browser_side(args.runs or (1 if args.quick else 3),
                     byte_compile=not args.no_byte_compile)


if __name__ == "__main__":
    main()
