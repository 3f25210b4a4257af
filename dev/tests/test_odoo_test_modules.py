"""Odoo's own test runner finds what pytest finds.

``odoo-bin --test-enable`` (the OCA's CI, an integrator's server) runs the
test modules that an addon's ``tests/__init__.py`` imports; pytest-odoo runs
every ``tests/test_*.py``. A test file missing from the ``__init__`` runs here
and nowhere else.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADDONS = [REPO, *sorted(path.parent for path in REPO.glob("bridges/*/__manifest__.py"))]


def imported_modules(init):
    tree = ast.parse(init.read_text(), str(init))
    return {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module
        for alias in node.names
    }


@pytest.mark.parametrize("addon", ADDONS, ids=lambda path: path.name)
def test_every_test_file_is_imported_for_odoos_runner(addon):
    tests = addon / "tests"
    files = {path.stem for path in tests.glob("test_*.py")}
    assert files, f"no test file in {tests}"
    missing = files - imported_modules(tests / "__init__.py")
    assert not missing, f"{tests}/__init__.py does not import {sorted(missing)}"
