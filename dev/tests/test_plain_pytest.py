"""The engine's tests run from a clone in a folder of any name (CI may use
l10n-fr-pos-caisse-ap-ip, which is not a Python identifier)."""

import shutil
import subprocess
import sys

from prerequisites import REPO, plain_pytest_command


def test_engine_tests_run_in_a_folder_that_is_no_identifier(tmp_path):
    clone = tmp_path / "l10n-fr-pos-caisse-ap-ip"
    shutil.copytree(
        REPO,
        clone,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__"),
    )
    engine = clone / "tests" / "engine"
    done = subprocess.run(
        [*plain_pytest_command(sys.executable, engine), "-q", "-k", "frame"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout
