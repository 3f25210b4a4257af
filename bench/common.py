"""The benchmarks' toolkit, in one name: `import common as c` in each script.

Each job has its module: settings (paths, addresses, log), odoo_server (the
Odoo server and its processes), databases (a run's databases and lanes), rpc
(the JSON-RPC client, as the POS calls), probes (measurements in background
threads), reports (statistics and markdown reports). This module adds the
command line the scripts share and gathers the names they use.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from databases import Bench, setup_lanes, setup_relays
from odoo_server import OdooServer, RelayProcess, pg_connections, psql, server_times
from probes import Prober, WorkerSampler, start_watching, tcp_counters, warm_session
from reports import Report, mib, ms, percentile, span, summary_ms
from rpc import (
    NETWORK_ERRORS,
    RpcError,
    Session,
    authenticate_many,
    pay,
    payment_data,
    wait_final,
)
from settings import FINAL_STATES, HOST, REPO, log

from caisse_ap.simulator import MultiTerminalSimulator, Scenario

__all__ = [
    "FINAL_STATES",
    "HOST",
    "NETWORK_ERRORS",
    "Bench",
    "MultiTerminalSimulator",
    "OdooServer",
    "Prober",
    "RelayProcess",
    "Report",
    "REPO",
    "RpcError",
    "Scenario",
    "Session",
    "WorkerSampler",
    "authenticate_many",
    "log",
    "mib",
    "ms",
    "pay",
    "payment_data",
    "percentile",
    "pg_connections",
    "psql",
    "server_times",
    "setup_lanes",
    "setup_relays",
    "span",
    "start_watching",
    "summary_ms",
    "tcp_counters",
    "wait_final",
    "warm_session",
]


# -- command line ---------------------------------------------------------------
def customer_delay(default: float) -> tuple:
    """The option every storm has: how long the simulated customer takes."""
    return ("--delay", default, "customer delay on the terminals, seconds")


def till_polls(late: float, bus_up: float) -> tuple[tuple, ...]:
    """The status polling of a till, like the POS's (see rpc.wait_final)."""
    return (
        ("--poll", late, "status poll interval once the outcome is late, like the POS"),
        (
            "--bus-poll",
            bus_up,
            "status poll interval before that, like the POS while its bus is up "
            "(0: every --poll, as with the bus down)",
        ),
    )


def till_polling(args) -> str:
    """How the tills polled ``caisse_ap_status`` (options of :func:`till_polls`)."""
    if args.bus_poll:
        return (
            f"like the POS with its bus up: every {args.bus_poll:g} s (every "
            f"{args.poll:g} s once the outcome is late)"
        )
    return f"every {args.poll:g} s, like the POS with its bus down (the costlier case)"


def probing(idle: float) -> tuple[tuple, ...]:
    """The unrelated read that measures how the server answers everyone else."""
    return (
        ("--idle", idle, "seconds of probing before the storm, the idle reference"),
        ("--probe-interval", 0.5, "seconds between two probe reads"),
    )


def listed(text: str, kind: Callable[[str], Any] = str) -> list[Any]:
    """A comma-separated option's values, blanks left out."""
    return [kind(part.strip()) for part in text.split(",") if part.strip()]


def parse_args(
    description: str,
    options: Sequence[tuple] = (),
    argv: Sequence[str] | None = None,
    quick: dict | None = None,
) -> argparse.Namespace:
    """The shared options, then the script's: ``(flag, default, help[, choices])``,
    typed as the default (False: a switch, None: a string without default).
    With ``--quick``, ``quick`` gives the defaults (options given still win)."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    shared = (
        (
            "--template",
            "",
            "reuse this database (addon installed, demo data) as the template "
            "instead of building one; it is never dropped",
        ),
        ("--keep", False, "keep the databases and the work folder for inspection"),
        (
            "--no-write",
            False,
            "print the tables only (do not write bench/results/ nor bench/README.md)",
        ),
    )
    for flag, default, help_text, *choices in (*shared, *options):
        if default is False:
            parser.add_argument(flag, action="store_true", help=help_text)
        elif default is None:
            parser.add_argument(flag, help=help_text)
        else:
            if default != "":
                help_text = f"{help_text} (default {default})"
            parser.add_argument(
                flag,
                type=type(default),
                default=default,
                choices=choices[0] if choices else None,
                help=help_text,
            )
    if quick and "--quick" in (sys.argv[1:] if argv is None else argv):
        parser.set_defaults(**quick)
    return parser.parse_args(argv)


def run_main(main: Callable[[], int]) -> None:
    """Exit with main()'s code; Ctrl-C and SIGTERM still clean up (finally blocks)."""

    def on_term(*_args: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        code = main()
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    sys.exit(code)


# -- tills paying at once ---------------------------------------------------------
def pay_together(
    payers: Sequence[Callable[[threading.Barrier, dict[str, Any]], None]],
    results: Sequence[dict[str, Any]],
    timeout: float,
) -> float:
    """Each payer in a thread of its own, filling its result; one barrier
    releases them at the same moment. Waits ``timeout`` s at most for them all;
    when they started."""
    barrier = threading.Barrier(len(payers))
    threads = [
        threading.Thread(target=payer, args=(barrier, result), daemon=True)
        for payer, result in zip(payers, results, strict=True)
    ]
    started = time.time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.1, started + timeout - time.time()))
    return started
