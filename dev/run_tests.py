"""The README's test command: a throwaway database, the addon installed, every test run.

Pure-Python engine tests, Odoo tests and browser tours all run in one pytest
session (pytest-odoo). A run in which any test was skipped, or in which no
browser tour ran, fails: a skipped tour proves nothing.

The self-order kiosk bridge (bridges/) is installed and tested in a second
database: most shops run the addon without pos_self_order.

Usage: python3 dev/run_tests.py [--keep-db] [--engine-only | --dev-only]
                                  [--no-kiosk | --kiosk-only] [pytest args...]
"""

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from odoo_setup import ensure_odoo, ensure_odoo_python
from prerequisites import (
    ADDON,
    REPO,
    SELF_ORDER_BRIDGE,
    SetupError,
    Workspace,
    drop_database,
    ensure_chromium,
    ensure_postgresql,
    ensure_python_packages,
    free_tcp_port,
    log,
    plain_pytest_command,
)

TEST_PACKAGES = {
    "pytest": "pytest",
    "pytest_odoo": "pytest-odoo>=2.3",
    "websocket": "websocket-client",
    "hypothesis": "hypothesis",
}


def run_without_odoo(folder, pytest_args):
    """Plain pytest tests (engine, developer scripts): no Odoo, no database."""
    ensure_python_packages({"pytest": "pytest", "hypothesis": "hypothesis"})
    cmd = plain_pytest_command(sys.executable, folder)
    return subprocess.run([*cmd, *pytest_args], check=False).returncode


def install_addon(workspace, db_name, addon=ADDON):
    log_file = workspace.path / f"install_{db_name}.log"
    log(f"installing {addon} and what it depends on (with demo data) into {db_name}")
    started = time.monotonic()
    with open(log_file, "w") as out:
        proc = workspace.odoo(
            "-d",
            db_name,
            "-i",
            addon,
            "--stop-after-init",
            "--log-level=warn",
            check=False,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = log_file.read_text()
    errors = [
        line for line in text.splitlines() if " ERROR " in line or " CRITICAL " in line
    ]
    if proc.returncode != 0 or errors:
        print(text[-6000:])
        raise SetupError(
            f"installing {addon} failed "
            f"(exit {proc.returncode}, {len(errors)} error lines)"
        )
    log(f"installed in {time.monotonic() - started:.0f} s")


def check_report(junit_path, expect_tours=True):
    """Return a list of reasons why a green pytest run still proves too little.

    A skipped test always counts; a run without a browser tour only when the
    whole suite ran (``expect_tours``), not a selection.
    """
    if not junit_path.exists():
        return ["pytest wrote no report"]
    cases = list(ET.parse(junit_path).getroot().iter("testcase"))
    problems = []
    skipped = [c for c in cases if c.find("skipped") is not None]
    for case in skipped:
        reason = case.find("skipped").get("message", "")
        problems.append(
            f"skipped: {case.get('classname')}.{case.get('name')}: {reason}"
        )
    tours = [
        c
        for c in cases
        if "tour" in c.get("name", "").lower()
        and c.find("skipped") is None
        and c.find("failure") is None
        and c.find("error") is None
    ]
    if expect_tours and not tours:
        problems.append("no browser tour ran and passed (tests named test_*tour*)")
    return problems


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the test database for inspection"
    )
    parser.add_argument(
        "--engine-only",
        action="store_true",
        help="run only the engine tests (no Odoo needed)",
    )
    parser.add_argument(
        "--dev-only",
        action="store_true",
        help="run only the tests of dev/ (README generator, set-up logic), in "
        "the Python that imports Odoo (.venv/, set up when missing)",
    )
    parser.add_argument(
        "--no-kiosk",
        action="store_true",
        help="leave out the self-order kiosk bridge (its own database and tests)",
    )
    parser.add_argument(
        "--kiosk-only",
        action="store_true",
        help="only the self-order kiosk bridge's database and tests",
    )
    return parser.parse_known_args()


def main():
    args, pytest_args = parse_args()

    if args.engine_only:
        return run_without_odoo(REPO / "tests" / "engine", pytest_args)
    if args.dev_only:
        # bench/ (tested there) needs Odoo's requirements (psutil), and the
        # check that no test needs more than the set-up installs must run where
        # the set-up installed it: in .venv/ (or the Python that imports Odoo).
        try:
            ensure_odoo_python(sys.argv)
        except SetupError as exc:
            log(f"cannot run the tests: {exc}")
            return 2
        return run_without_odoo(REPO / "dev" / "tests", pytest_args)

    try:
        odoo_root = ensure_odoo()
        ensure_python_packages(TEST_PACKAGES)
        chromium = ensure_chromium()
        ensure_postgresql()
    except SetupError as exc:
        log(f"cannot run the tests: {exc}")
        return 2

    workspace = Workspace(odoo_root, "caisse_ap_test")
    stamp = f"{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
    # The addon alone, as most shops have it; then the kiosk bridge, in a
    # database of its own (pos_self_order changes the POS the tours drive).
    runs = [
        (f"caisse_ap_test_{stamp}", ADDON, workspace.addon),
        (
            f"caisse_ap_kiosk_{stamp}",
            SELF_ORDER_BRIDGE,
            workspace.bridges[SELF_ORDER_BRIDGE],
        ),
    ]
    if args.kiosk_only:
        runs = runs[1:]
    elif args.no_kiosk:
        runs = runs[:1]
    created = []
    try:
        workspace.install_chrome_wrapper(chromium)
        # A free port: two runs on one machine (two clones, CI beside a
        # developer) must not meet on 8069.
        http_port = free_tcp_port()
        failed = 0
        for db_name, addon, folder in runs:
            workspace.write_config(db_name, http_port=http_port)
            created.append(db_name)  # from here on, it may exist: always drop it
            install_addon(workspace, db_name, addon)
            failed |= run_odoo_tests(workspace, db_name, folder, pytest_args)
        return failed
    except SetupError as exc:
        log(f"cannot run the tests: {exc}")
        return 2
    finally:
        for db_name in created:
            if args.keep_db:
                log(f"database kept: {db_name} (config {workspace.config})")
            else:
                drop_database(db_name, workspace.data_dir)
        if not args.keep_db:
            workspace.cleanup()


def run_odoo_tests(workspace, db_name, folder, pytest_args):
    """pytest over one addon's tests, in its database; 0 when all passed."""
    junit = workspace.path / f"junit_{db_name}.xml"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(folder / "tests"),
        f"--odoo-config={workspace.config}",
        f"--odoo-database={db_name}",
        "--odoo-http",
        "--odoo-log-level=warn",
        # pytest-odoo imports Odoo's test framework before test mode is on,
        # which Odoo reports with a harmless ERROR and a long stack.
        "--odoo-extra=log-handler=odoo.tests.common:CRITICAL",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-ra",
        *pytest_args,
    ]
    log("running the tests: " + " ".join(cmd[3:]))
    result = subprocess.run(cmd, env=workspace.env(), cwd=workspace.path, check=False)
    problems = check_report(junit, expect_tours=not pytest_args)
    for problem in problems:
        log(f"FAILED CHECK: {problem}")
    return 1 if (result.returncode or problems) else 0


if __name__ == "__main__":
    sys.exit(main())
