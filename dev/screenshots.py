"""The README's screenshots: the payment method form and its Find terminals dialog;
in the POS a declined payment, a payment running, the receipt, the unknown-outcome
dialog, the closing screen and the other lines a cashier can see (cancelled, not
sent, busy, partial, offline); a shop relay's form, its pairing dialog and the
review dialog of an entry needing attention; a self-order kiosk's refusal and
payment.

Runs the screenshot tours (tests/test_tours_screenshots.py, and the kiosk
bridge's test_tours_kiosk.py) through the test runner, in throwaway databases
with the terminal simulator, and writes the images to each addon's
static/description/ (or to the folder given with --output).

Usage: python3 dev/screenshots.py [--output DIR]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BRIDGE = REPO / "bridges" / "l10n_fr_pos_caisse_ap_ip_self_order"
NAMES = (
    "screenshot_payment_method.png",
    "screenshot_terminal_finder.png",
    "screenshot_pos_declined.png",
    "screenshot_pos_payment.png",
    "screenshot_pos_receipt.png",
    "screenshot_pos_unknown.png",
    "screenshot_pos_closing.png",
    "screenshot_relay.png",
    "screenshot_relay_pairing.png",
    "screenshot_review.png",
    "screenshot_pos_states.png",
)
KIOSK_NAMES = ("screenshot_kiosk_refused.png", "screenshot_kiosk_payment.png")
# (test runner arguments, where the images go by default, their names)
RUNS = (
    (
        ["--no-kiosk", "-k", "test_tour_screenshots or test_tour_screenshot_states"],
        REPO,
        NAMES,
    ),
    (["--kiosk-only", "-k", "test_tour_kiosk_screenshots"], BRIDGE, KIOSK_NAMES),
)


def mtime(path):
    return path.stat().st_mtime_ns if path.exists() else None


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, help="one folder for every image")
    args = parser.parse_args()
    for runner_args, addon, names in RUNS:
        output = (args.output or addon / "static" / "description").resolve()
        if take(runner_args, output, names):
            return 1
    return 0


def take(runner_args, output, names):
    """Run one screenshot test; 0 when it wrote every one of ``names``."""
    output.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CAISSE_AP_SCREENSHOTS_DIR=str(output))
    command = [sys.executable, str(REPO / "dev" / "run_tests.py"), *runner_args]
    before = {name: mtime(output / name) for name in names}
    result = subprocess.run(command, env=env, check=False)
    # A skipped tour leaves the old images: only new ones count.
    missing = [name for name in names if mtime(output / name) in (None, before[name])]
    if result.returncode or missing:
        print(f"screenshots: failed (exit {result.returncode}, not taken {missing})")
        return result.returncode or 1
    for name in names:
        print(f"screenshots: {output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
