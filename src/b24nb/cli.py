"""The ``b24nb`` command line: ``b24nb sandbox`` starts a local Bitrix24 portal.

The first line printed is the webhook URL, so a script can capture it
(``URL=$(b24nb sandbox | head -1)`` or read one line from the pipe) and point any
Bitrix24 client at it. Everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    # plain words here: argparse prints the description as is, so no RST markup (issue 15)
    parser = argparse.ArgumentParser(
        prog="b24nb",
        description="The b24nb command line. 'b24nb sandbox' starts a local Bitrix24 portal "
                    "with demo data and prints its webhook URL on the first line.",
        epilog="Example: URL=$(b24nb sandbox | head -1)")
    sub = parser.add_subparsers(dest="command", required=True)
    sb = sub.add_parser("sandbox", help="serve a local Bitrix24 portal on 127.0.0.1",
                        description="Serve a local Bitrix24 REST emulator with demo data until "
                                    "interrupted. The first output line is the webhook URL.")
    sb.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    sb.add_argument("--seed", type=int, default=0, help="demo data seed (default 0)")
    sb.add_argument("--deals", type=int, default=2000, help="demo deals (default 2000)")
    sb.add_argument("--orders", type=int, default=2400, help="demo orders (default 2400)")
    sb.add_argument("--no-limits", action="store_true",
                    help="disable the 503 request bucket and the 429 operating-time limit")
    sb.add_argument("--no-latency", action="store_true",
                    help="answer at once instead of modelling the server's processing time")
    sb.add_argument("--time-scale", type=float, default=1.0,
                    help="run the portal's clocks X times faster (default 1)")
    sb.add_argument("--plan", choices=("standard", "enterprise"), default="standard",
                    help="request bucket of the plan: standard 50/2 s, enterprise 250/5 s")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from b24nb.sandbox import Sandbox

    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    with Sandbox(seed=args.seed, n_deals=args.deals, n_orders=args.orders,
                 limits=not args.no_limits, latency=not args.no_latency,
                 time_scale=args.time_scale, plan=args.plan, port=args.port) as sb:
        sys.stdout.write(sb.url + "\n")
        sys.stdout.flush()
        counts = sb.counts()
        sys.stderr.write(
            f"b24nb sandbox: {counts['deals']} deals, {counts['orders']} orders, "
            f"{counts['contacts']} contacts; limits {'off' if args.no_limits else 'on'}, "
            f"time scale {args.time_scale:g}. Ctrl+C stops it.\n")
        sys.stderr.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``b24nb`` console script."""
    args = _parser().parse_args(argv)
    if args.command == "sandbox":
        return _serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":
    sys.exit(main())
