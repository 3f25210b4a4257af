"""Every public route keeps a table of what its caller controls, and each row
names the test written as that attack: the test must exist."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    # table module -> (the folder of the tests its rows name, the table's name)
    REPO / "controllers" / "relay_arguments.py": (REPO / "tests", "RELAY_ARGUMENTS"),
    REPO / "controllers" / "relay_pairing_arguments.py": (
        REPO / "tests",
        "PAIR_ARGUMENTS",
    ),
}


def _literal(path, name):
    """The table ``name`` of ``path``, its module's string constants put in."""
    constants = {}
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0].id
        value = ast.literal_eval(_with_constants(node.value, constants))
        if target == name:
            return value
        if isinstance(value, str):
            constants[target] = value
    raise AssertionError(f"{path} has no {name}")


def _with_constants(node, constants):
    class PutIn(ast.NodeTransformer):
        def visit_Name(self, name):  # noqa: N802 (ast's naming)
            if name.id in constants:
                return ast.Constant(constants[name.id])
            return name

    return ast.fix_missing_locations(PutIn().visit(node))


def _tests_of(path):
    """{"Class.test_name"} for every test method of a test module."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test_"):
                    found.add(f"{node.name}.{item.name}")
    return found


def test_every_route_argument_names_an_existing_attack_test():
    missing = []
    for table, (tests_dir, name) in TABLES.items():
        rows = _literal(table, name)
        assert rows, table
        for route, argument, checked, attack in rows:
            assert route and argument and checked, (route, argument)
            module, _sep, test = attack.partition(":")
            path = tests_dir / f"{module}.py"
            if not path.exists() or test not in _tests_of(path):
                missing.append(f"{route} {argument}: {attack}")
    assert missing == []
