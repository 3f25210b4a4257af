"""Every public route keeps a table of what its caller controls, and each row
names the test written as that attack: the test must exist."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    # table module -> the folder of the tests its rows name
    REPO / "controllers" / "relay_arguments.py": REPO / "tests",
}


def _literal(path, name):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name
            for target in node.targets
        ):
            return ast.literal_eval(
                ast.unparse(node.value).replace("EVERY_ROUTE", repr("*"))
            )
    raise AssertionError(f"{path} has no {name}")


def _tests_of(path):
    """{"Class.test_name"} for every test method of a test module."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test_"):
                    found.add(f"{node.name}.{item.name}")
    return found


def test_every_relay_argument_names_an_existing_attack_test():
    missing = []
    for table, tests_dir in TABLES.items():
        rows = _literal(table, "RELAY_ARGUMENTS")
        assert rows, table
        for route, argument, checked, attack in rows:
            assert route and argument and checked, (route, argument)
            module, _sep, test = attack.partition(":")
            path = tests_dir / f"{module}.py"
            if not path.exists() or test not in _tests_of(path):
                missing.append(f"{route} {argument}: {attack}")
    assert missing == []
