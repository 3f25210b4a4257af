"""The README's screenshots: the payment method form; in the POS a declined payment,
a payment running, the receipt, the unknown-outcome dialog and the closing screen;
a shop relay's form and the review dialog of an entry needing attention.

Runs the screenshot tour (tests/test_tours_screenshots.py) through the test runner,
in a throwaway database with the terminal simulator, and writes the images to
static/description/ (or to the folder given with --output).

Usage: python3 dev/screenshots.py [--output DIR]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NAMES = (
    "screenshot_payment_method.png",
    "screenshot_pos_declined.png",
    "screenshot_pos_payment.png",
    "screenshot_pos_receipt.png",
    "screenshot_pos_unknown.png",
    "screenshot_pos_closing.png",
    "screenshot_relay.png",
    "screenshot_review.png",
)


def mtime(path):
    return path.stat().st_mtime_ns if path.exists() else None


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=REPO / "static" / "description")
    args = parser.parse_args()
    output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CAISSE_AP_SCREENSHOTS_DIR=str(output))
    command = [
        sys.executable,
        str(REPO / "dev" / "run_tests.py"),
        "-k",
        "test_tour_screenshots",
    ]
    before = {name: mtime(output / name) for name in NAMES}
    result = subprocess.run(command, env=env, check=False)
    # A skipped tour leaves the old images: only new ones count.
    missing = [name for name in NAMES if mtime(output / name) in (None, before[name])]
    if result.returncode or missing:
        print(f"screenshots: failed (exit {result.returncode}, not taken {missing})")
        return result.returncode or 1
    for name in NAMES:
        print(f"screenshots: {output / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
