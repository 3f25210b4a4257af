"""Run the README's test command N times and count the runs that failed.

Flakiness shows only over repeated runs: use this after any change to the tours,
the test runner or the worker. Each run is a full `dev/run_tests.py` (its own
throwaway database and port); the summary lists every run's closing line.

Usage: python3 dev/repeat_tests.py N [pytest args...]
"""

import re
import subprocess
import sys
import time
from pathlib import Path

RUNNER = Path(__file__).resolve().parent / "run_tests.py"
SUMMARY = re.compile(r"^=+ (.*\b(passed|failed|error)\b.*) =+$", re.MULTILINE)


def main():
    if len(sys.argv) < 2 or not sys.argv[1].isdigit() or int(sys.argv[1]) < 1:
        print(__doc__)
        return 2
    runs, pytest_args = int(sys.argv[1]), sys.argv[2:]
    results = []
    for number in range(1, runs + 1):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, str(RUNNER), *pytest_args],
            capture_output=True,
            text=True,
            check=False,
        )
        output = proc.stdout + proc.stderr
        summaries = SUMMARY.findall(output)
        summary = summaries[-1][0] if summaries else "no pytest summary"
        elapsed = time.monotonic() - started
        results.append((number, proc.returncode, summary, elapsed))
        print(
            f"run {number}/{runs}: exit {proc.returncode}, {summary}, {elapsed:.0f} s",
            flush=True,
        )
        if proc.returncode:
            log = Path(f"repeat_tests_run{number}.log").resolve()
            log.write_text(output)
            print(f"  full output of the failed run: {log}", flush=True)
    failed = sum(1 for _n, code, _s, _e in results if code)
    print(f"{runs - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
