"""The cashier's words have one owner: runtime/cashier_labels.py.

A table of words for codes is written in Odoo with lazy translations (``_lt``,
made by ``LazyTranslate``): one found anywhere else in the addon is a second
table, which drifts from the first. The engine's English copy of the
terminal's codes (caisse_ap/labels.py, standard library only) is checked equal
to the table, text included, by the Odoo tests (tests/test_backend_labels.py).
"""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OWNER = Path("runtime") / "cashier_labels.py"
# Not the addon's own code: tests, tools, benchmarks, and the bridges, which are
# addons of their own with their own catalogues.
OUTSIDE = {"tests", "dev", "bench", "bridges", ".venv", "node_modules"}
LAZY = {"_lt", "LazyTranslate"}


def _lazy_names(path):
    """The lines where a file names ``_lt`` or ``LazyTranslate``."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Name) and node.id in LAZY:
            yield node.lineno
        elif isinstance(node, ast.Attribute) and node.attr in LAZY:
            yield node.lineno
        elif isinstance(node, ast.alias) and node.name in LAZY:
            yield node.lineno


def test_lazy_translations_live_in_the_cashiers_table_only():
    found = []
    for path in sorted(REPO.rglob("*.py")):
        relative = path.relative_to(REPO)
        if OUTSIDE & set(relative.parts) or relative == OWNER:
            continue
        found += [f"{relative}:{line}" for line in _lazy_names(path)]
    assert found == [], (
        f"words for codes belong in {OWNER} (the one table every path reads)"
    )


def test_the_owner_is_the_table():
    assert list(_lazy_names(REPO / OWNER)), "the check reads the right file"
