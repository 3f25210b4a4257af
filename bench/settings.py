"""What every benchmark module shares: paths, local addresses, the demo login, the log.

Nothing in bench/ is part of the addon (Odoo never imports it). Only 127.0.0.1
is ever contacted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
README = BENCH / "README.md"
# The engine (caisse_ap) and the commands' shared set-up (dev/prerequisites.py).
sys.path.insert(0, str(REPO / "dev"))
sys.path.insert(0, str(REPO))

import prerequisites  # noqa: E402  (dev/prerequisites.py, by path)

ADDON = prerequisites.ADDON
SELF_ORDER_BRIDGE = prerequisites.SELF_ORDER_BRIDGE
TERMINAL_KEY = "fr-caisse_ap_ip"
HOST = "127.0.0.1"
LOGIN = PASSWORD = "admin"  # the demo data's administrator
FINAL_STATES = ("success", "failure", "unknown", "error")


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)
