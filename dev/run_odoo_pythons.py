"""Run the Odoo back-end tests on Python 3.12 too, beside the default python3.

The payment worker runs on threads and an asyncio loop, and Python changed
them between versions: from 3.12 on, no thread starts once the interpreter
is shutting down, which broke a recycled worker's payments while every test
passed on 3.11. 3.12 is the Python of Ubuntu 24.04, the platform of Odoo
18's official packages, so CI runs the back-end tests (everything but the
browser tours and the JavaScript unit tests, which test the POS's
JavaScript, and the engine's tests, which dev/run_engine_pythons.py runs
there) on it.

Each Python gets a virtual environment of its own under ~/.cache, built once
with the same steps as `make test`'s .venv/ (dev/odoo_setup.py) from the
Odoo 18.0 source of $ODOO_SRC, else of the last set-up, else the one the
running Python imports; one per Python and per digest of what it installs,
so clones at other commits never share a wrong one.

Usage: python3 dev/run_odoo_pythons.py [3.12 ...] [-- pytest args]
"""

import os
import subprocess
import sys
from pathlib import Path

from odoo_setup import (
    Builder,
    decide,
    remembered_source,
    setup_key,
    venv_is_ready,
    venv_python,
)
from prerequisites import REPO, check_odoo
from run_engine_pythons import on_each_python, split_argv

VERSIONS = ("3.12",)
CACHE = Path.home() / ".cache" / "l10n_fr_pos_caisse_ap_ip-odoo"
# The browser tours and the JavaScript unit tests exercise the POS's
# JavaScript, the same on every Python; the engine's tests run on each
# Python already (run_engine_pythons.py).
SELECTION = ["-k", "not tour and not engine and not js_unit"]


def log(message):
    print(f"[odoo pythons] {message}", flush=True)


def odoo_source():
    """The Odoo 18.0 source to build from: $ODOO_SRC, else the last set-up's,
    else the running Python's."""
    return os.environ.get("ODOO_SRC") or remembered_source() or str(check_odoo())


def environment(version, python):
    """A venv of ``python`` that imports Odoo 18.0: its python."""
    plan = decide(None, False, str(odoo_source()))
    venv = CACHE / f"py{version}-{setup_key(plan.location)}"
    if not venv_is_ready(venv):
        log(f"building {venv} from {plan.source} {plan.location} (once; minutes)")
        Builder(plan, venv=venv, python=python).build()
    return venv_python(venv)


def main(argv):
    versions, pytest_args = split_argv(argv, VERSIONS)
    command = [str(REPO / "dev" / "run_tests.py"), *(pytest_args or SELECTION)]
    return on_each_python(
        versions,
        environment,
        lambda odoo_python: (
            subprocess.run(
                [str(odoo_python), *command], cwd=REPO, check=False
            ).returncode
        ),
        "back-end tests",
        log=log,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
