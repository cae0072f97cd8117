"""Run the quick benchmarks on two revisions of b24nb, one after the other, and print both.

Why: a refactor that claims "behaviour unchanged" (issue 12) must also leave the speed
where it was. Each benchmark runs in a fresh process with ``PYTHONPATH`` pointing at a
checkout of the revision, alternating before/after ``--rounds`` times so that a busy spell
of the machine hits both sides alike; every figure line is printed under its revision. The
benchmarks' own code comes from the *current* tree, so both sides are measured the same way
(a benchmark that needs a newer API than the base has is reported as failed, not skipped).

Usage::

    python benchmarks/before_after.py --base be897ec            # all quick benchmarks
    python benchmarks/before_after.py --base be897ec --only bench_match.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: benchmark -> arguments of its quick run
QUICK: dict[str, list[str]] = {
    "bench_load.py": ["--quick"],
    "bench_load_orders.py": ["--quick"],
    "bench_match.py": ["--quick"],
    "bench_bind.py": ["--quick"],
    "bench_widget.py": ["--quick"],
    "bench_sandbox.py": ["-n", "50000"],
}
_FIGURE = re.compile(r"\d")  # a line with a number in it is a figure worth comparing


def _run(tree: Path, script: str, args: list[str]) -> tuple[float, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    env.pop("B24_WEBHOOK_URL", None)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800)
    took = time.perf_counter() - start
    lines = [ln for ln in proc.stdout.splitlines() if _FIGURE.search(ln)]
    if proc.returncode:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        lines.append(f"FAILED (exit {proc.returncode}): {tail}")
    return took, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the revision before (a git ref)")
    parser.add_argument("--only", action="append", help="benchmark file(s) to run")
    parser.add_argument("--rounds", type=int, default=1, help="before/after pairs per bench")
    parser.add_argument("--args", help="arguments for the benchmark instead of its quick ones")
    args = parser.parse_args()
    names = args.only or list(QUICK)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
                        str(base), args.base], check=True)
        try:
            head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            print(f"before = {args.base}, after = {head} (working tree); "
                  f"{args.rounds} round(s) each, alternating")
            for name in names:
                for r in range(args.rounds):
                    for label, tree in (("before", base), ("after", ROOT)):
                        bench_args = args.args.split() if args.args else QUICK.get(name, [])
                        took, lines = _run(tree, name, bench_args)
                        print(f"\n== {name} {' '.join(bench_args)} · {label} · "
                              f"round {r + 1} · {took:.1f} s")
                        for line in lines:
                            print("   " + line)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(base)], check=False)


if __name__ == "__main__":
    main()
