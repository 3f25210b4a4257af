"""Run the Odoo back-end tests on Python 3.12 too, beside the default python3.

The payment worker runs on threads and an asyncio loop, and Python changed
them between versions: from 3.12 on, no thread starts once the interpreter
is shutting down, which broke a recycled worker's payments while every test
passed on 3.11. 3.12 is the Python of Ubuntu 24.04, the platform of Odoo
18's official packages, so CI runs the back-end tests (everything but the
browser tours, which test the POS's JavaScript, and the engine's tests,
which tools/run_engine_pythons.py runs there) on it.

Each Python gets a virtual environment of its own under ~/.cache, built once
with the same steps as `make test`'s .venv/ (tools/odoo_setup.py) from the
Odoo 18.0 source the default python3 imports (or $ODOO_SRC).

Usage: python3 tools/run_odoo_pythons.py [3.12 ...] [-- pytest args]
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from odoo_env import REPO, SetupError, check_odoo
from odoo_setup import Builder, decide, venv_is_ready, venv_python
from run_engine_pythons import find_python

VERSIONS = ("3.12",)
CACHE = Path.home() / ".cache" / "l10n_fr_pos_caisse_ap_ip-odoo"
# The browser tours exercise the POS's JavaScript, the same on every Python;
# the engine's tests run on each Python already (run_engine_pythons.py).
DEFAULT_SELECTION = ["-k", "not tour and not engine"]


def log(message):
    print(f"[odoo pythons] {message}", flush=True)


def odoo_source():
    """The Odoo 18.0 source tree to build from: $ODOO_SRC, else python3's."""
    return os.environ.get("ODOO_SRC") or str(check_odoo())


def environment(version, python):
    """A venv of ``python`` that imports Odoo 18.0: its python."""
    venv = CACHE / f"py{version}"
    if not venv_is_ready(venv):
        plan = decide(None, False, odoo_source())
        log(f"building {venv} from {plan.source} {plan.location} (once; minutes)")
        Builder(plan, venv=venv, python=python).build()
    return venv_python(venv)


def main(argv):
    versions, pytest_args = argv, []
    if "--" in argv:
        split = argv.index("--")
        versions, pytest_args = argv[:split], argv[split + 1 :]
    versions = versions or list(VERSIONS)
    failed = []
    for version in versions:
        python = find_python(version)
        if python is None:
            log(
                f"FAILED: no Python {version} found. Install it (e.g. `pyenv install "
                f"{version}`) or point CAISSE_AP_PYTHON_{version.replace('.', '_')} "
                "at its interpreter."
            )
            failed.append(f"{version} (missing)")
            continue
        try:
            odoo_python = environment(version, python)
        except SetupError as error:
            log(f"FAILED: cannot prepare Odoo on Python {version}: {error}")
            failed.append(f"{version} (setup)")
            continue
        started = time.monotonic()
        log(f"Python {version}: back-end tests with {odoo_python}")
        command = [str(odoo_python), str(REPO / "tools" / "run_tests.py")]
        code = subprocess.run(
            [*command, *(pytest_args or DEFAULT_SELECTION)], cwd=REPO, check=False
        ).returncode
        log(
            f"Python {version}: {'passed' if code == 0 else 'FAILED'} "
            f"in {time.monotonic() - started:.0f} s"
        )
        if code:
            failed.append(version)
    if failed:
        log(f"FAILED on: {', '.join(failed)}")
        return 1
    log(f"back-end tests passed on Python {', '.join(versions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
