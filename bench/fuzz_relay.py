"""The shop relay's endpoints fuzzed: 10,000 random and mutated bodies each.

Runs the back-end fuzz test (tests/test_backend_relay_attacks.py,
TestRelayFuzz) through the README's test command with more bodies: each goes
through Odoo's HTTP server with a valid relay token. Goals: no server error,
no transaction changed by a body that was refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import common as c

OPTIONS = (("--bodies", 10_000, "per endpoint"),)


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    with tempfile.TemporaryDirectory() as folder:
        report_path = os.path.join(folder, "fuzz.json")
        env = dict(
            os.environ,
            CAISSE_AP_FUZZ_BODIES=str(args.bodies),
            CAISSE_AP_FUZZ_REPORT=report_path,
        )
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "dev/run_tests.py",
                "--no-kiosk",
                "-k",
                "TestRelayFuzz",
                "-q",
            ],
            cwd=c.REPO,
            env=env,
            check=False,
        )
        took = time.monotonic() - started
        with open(report_path) as file:
            endpoints = json.load(file)
    rep = c.Report("fuzz_relay", "The shop relay's endpoints under a fuzzer")
    rep.note(
        f"{args.bodies} bodies per endpoint, posted over HTTP with a valid token "
        "(a quarter each: one mutation of a valid body, two mutations, a random "
        f"JSON value, raw bytes); {took:.0f} s in all, test exit code "
        f"{done.returncode}. 405: an empty body, which the test client sends as "
        "a GET."
    )
    rep.table(
        ("endpoint", "bodies", "answers", "server errors", "changed by a refused body"),
        [
            (
                report["path"],
                report["bodies"],
                ", ".join(f"{s}: {n}" for s, n in sorted(report["statuses"].items())),
                report["server_errors"],
                report["changed_by_refused"],
            )
            for report in endpoints
        ],
    )
    errors = sum(report["server_errors"] for report in endpoints)
    changed = sum(report["changed_by_refused"] for report in endpoints)
    bodies = min(report["bodies"] for report in endpoints)
    rep.check(">= 10,000 bodies per endpoint", bodies >= 10_000, str(bodies))
    rep.check("0 server errors", errors == 0, str(errors))
    rep.check("0 transactions changed by an invalid body", changed == 0, str(changed))
    rep.check("the fuzz test passed", done.returncode == 0, str(done.returncode))
    return rep.save(write=not args.no_write)


if __name__ == "__main__":
    c.run_main(main)
