"""Run the engine's tests on every Python Odoo 18 supports besides this one.

Odoo 18 runs on Python 3.10 to 3.13 (3.12 is Ubuntu 24.04's, the platform of
its official packages), and asyncio changed between them: the engine's tests
(hypothesis and the fault matrix included) must pass on each. ``make test``
runs them on the default python3; this runs them on the others, each in a
virtual environment of its own (pytest and hypothesis installed on first
use, under ~/.cache).

Usage: python3 dev/run_engine_pythons.py [3.10 3.12 3.13] [-- pytest args]

An interpreter is looked up as $CAISSE_AP_PYTHON_3_12 (for 3.12), then
~/.pyenv/versions/3.12.*, then python3.12 on the PATH. A missing one fails
the run with a message saying how to provide it: never a silent skip.
"""

import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from prerequisites import plain_pytest_command

REPO = Path(__file__).resolve().parents[1]
VERSIONS = ("3.10", "3.12", "3.13")
PACKAGES = ("pytest", "hypothesis")
CACHE = Path.home() / ".cache" / "l10n_fr_pos_caisse_ap_ip-engine"


def log(message):
    print(f"[engine pythons] {message}", flush=True)


def _works(python, version):
    """``python`` runs and is ``version`` (a pyenv shim may be neither)."""
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def find_python(version):
    """Path of a working Python ``version`` interpreter, or None."""
    variable = "CAISSE_AP_PYTHON_" + version.replace(".", "_")
    pyenv_root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    candidates = [
        os.environ.get(variable),
        *sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python3"))[::-1],
        shutil.which(f"python{version}"),
    ]
    return next((c for c in candidates if c and _works(c, version)), None)


def environment(version, python):
    """A venv for ``version`` holding pytest and hypothesis: its python."""
    venv = CACHE / f"py{version}"
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        log(f"creating {venv} from {python}")
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    probe = subprocess.run(
        [str(venv_python), "-c", "import " + ", ".join(PACKAGES)],
        capture_output=True,
        check=False,
    )
    if probe.returncode:
        log(f"installing {' '.join(PACKAGES)} into {venv}")
        subprocess.run(
            [str(venv_python), "-m", "pip", "install", "--quiet", *PACKAGES],
            check=True,
        )
    return venv_python


def run_tests(venv_python, pytest_args):
    command = plain_pytest_command(venv_python, REPO / "tests" / "engine")
    return subprocess.run(
        [*command, "-q", *pytest_args], cwd=REPO, check=False
    ).returncode


def split_argv(argv, default_versions):
    """``[versions] [-- pytest args]`` -> (versions, pytest args)."""
    versions, pytest_args = argv, []
    if "--" in argv:
        split = argv.index("--")
        versions, pytest_args = argv[:split], argv[split + 1 :]
    return versions or list(default_versions), pytest_args


def on_each_python(versions, prepare, run, what, log=log):
    """For each version: find it, ``prepare(version, python)`` -> the Python to
    run with, ``run(that python)`` -> exit code. 0 when all passed.

    ``prepare`` raises (CalledProcessError or any ``errors``) when it cannot.
    """
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
            ready = prepare(version, python)
        except Exception as error:  # noqa: BLE001 - reported, the next version runs
            log(f"FAILED: cannot prepare Python {version}: {error}")
            failed.append(f"{version} (setup)")
            continue
        started = time.monotonic()
        log(f"Python {version}: {what} with {ready}")
        code = run(ready)
        log(
            f"Python {version}: {'passed' if code == 0 else 'FAILED'} "
            f"in {time.monotonic() - started:.0f} s"
        )
        if code:
            failed.append(version)
    if failed:
        log(f"FAILED on: {', '.join(failed)}")
        return 1
    log(f"{what} passed on Python {', '.join(versions)}")
    return 0


def main(argv):
    versions, pytest_args = split_argv(argv, VERSIONS)
    return on_each_python(
        versions,
        environment,
        lambda venv_python: run_tests(venv_python, pytest_args),
        "engine tests",
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
