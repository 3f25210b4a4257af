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
from collections.abc import Callable

from databases import Bench, setup_lanes
from odoo_server import OdooServer, pg_connections, server_times
from probes import Prober, WorkerSampler, start_watching, tcp_counters
from reports import Report, mib, ms, percentile, span, summary_ms
from rpc import (
    NETWORK_ERRORS,
    RpcError,
    Session,
    authenticate_many,
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
    "payment_data",
    "percentile",
    "pg_connections",
    "server_times",
    "setup_lanes",
    "span",
    "start_watching",
    "summary_ms",
    "tcp_counters",
    "wait_final",
]


# -- command line ---------------------------------------------------------------
def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--template",
        default="",
        help="reuse this database (addon installed, demo data) as the template "
        "instead of building one; it is never dropped",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the databases and the work folder for inspection",
    )
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="print the tables only (do not write bench/results/ nor bench/README.md)",
    )
    return parser


def add_options(parser: argparse.ArgumentParser, *options: tuple) -> None:
    """Add ``(flag, default, help)`` options: the default's type is the option's;
    a False default makes a switch, a None default a string without default."""
    for flag, default, help_text in options:
        if default is False:
            parser.add_argument(flag, action="store_true", help=help_text)
        elif default is None:
            parser.add_argument(flag, help=help_text)
        else:
            parser.add_argument(
                flag,
                type=type(default),
                default=default,
                help=f"{help_text} (default {default})",
            )


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
