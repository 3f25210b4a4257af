"""The simulated terminal's command line.

    python -m caisse_ap.simulator --port 0 --scenario "decline:af=05" --delay 2

With no option it listens on 127.0.0.1:8888 and approves every payment after
a short delay. Ctrl-C (SIGINT) or SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from . import DEFAULT_PORT
from .profiles import DEFAULT_PROFILE, PROFILES
from .scenario import KINDS, Scenario
from .server import BUSY_BEHAVIOURS, MultiTerminalSimulator


def _scenario_arg(text: str) -> Scenario:
    try:
        return Scenario.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m caisse_ap.simulator",
        description="Simulated Caisse-AP over IP payment terminal (tests and demos).",
        epilog="Scenarios: " + ", ".join(KINDS) + ". Options after a colon, e.g. "
        '"decline:af=05", "approve:ci=1,app=00B,receipt=MERCI", "split:segments=4", '
        '"wrong_echo:echo=CE", "partial:amount=500".',
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free port)",
    )
    parser.add_argument(
        "--scenario",
        type=_scenario_arg,
        default=Scenario(),
        help='default scenario for every transaction (default "approve")',
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=DEFAULT_PROFILE,
        help="how the terminal shapes its answers (default "
        f"{DEFAULT_PROFILE}): "
        + "; ".join(f"{name}: {p.summary}" for name, p in sorted(PROFILES.items())),
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=None,
        help="customer delay in seconds before answering (default 0.2)",
    )
    parser.add_argument(
        "--busy",
        choices=BUSY_BEHAVIOURS,
        default="ignore",
        help="what to do with a connection while a transaction runs",
    )
    parser.add_argument(
        "--keep-open",
        action="store_true",
        help="keep the connection open after answering, until the client closes",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=1,
        help="number of terminals, on consecutive ports (default 1)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    scenario: Scenario = args.scenario
    try:
        if args.delay is not None:
            scenario = dataclasses.replace(scenario, delay=args.delay)
        if args.keep_open:
            scenario = dataclasses.replace(scenario, keep_open=True)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    group = MultiTerminalSimulator(
        max(1, args.count), args.host, args.port, scenario, args.busy, args.profile
    )
    try:
        group.start()
    except OSError as error:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr
        )
        return 1
    for terminal in group:
        print(
            "Caisse-AP terminal simulator listening on "
            f"{terminal.host}:{terminal.port} "
            f"(profile {args.profile}, scenario {scenario.describe()}, "
            f"busy: {args.busy})",
            flush=True,
        )
    stopping = threading.Event()
    # Explicit handlers: a shell starting us in the background may have set
    # SIGINT to "ignore", which would make Ctrl-C (or kill -INT) do nothing.
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stopping.set())
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        group.stop()
    print("Simulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
