"""The map of the rooms (README, Architecture) is kept true: what each imports."""

import ast
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Folder -> addon folders its Python files may import (besides itself).
MAY_IMPORT = {
    "caisse_ap": set(),
    "runtime": {"caisse_ap"},
    "models": {"caisse_ap", "runtime"},
    # The terminal finder runs the engine's scan itself and names what the
    # address policy refuses with the words of the table in runtime/.
    "wizard": {"models", "caisse_ap", "runtime"},
    "report": {"models"},
    "controllers": {"caisse_ap"},
    # Upgrade scripts: plain SQL, whatever the code of the version they upgrade to.
    "migrations": set(),
}


def _imports(path):
    """(addon folder imported, or "odoo") for each import of a file of the addon."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(REPO).parent.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                yield (node.module or "").split(".")[0]
                continue
            base = package[: len(package) - node.level + 1]
            target = [*base, *(node.module or "").split(".")] if node.module else base
            if not target or not target[0]:
                # "from .. import caisse_ap": the names are the folders.
                yield from (alias.name for alias in node.names)
            else:
                yield target[0]


def test_each_room_imports_only_what_the_map_allows():
    wrong = []
    for folder, allowed in MAY_IMPORT.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            for imported in _imports(path):
                if imported == "odoo" and folder == "caisse_ap":
                    wrong.append(f"{path.relative_to(REPO)} imports odoo")
                elif (
                    imported in MAY_IMPORT
                    and imported != folder
                    and imported not in allowed
                ):
                    wrong.append(f"{path.relative_to(REPO)} imports {imported}/")
    assert wrong == []


def test_models_holds_orm_classes_only():
    without = []
    for path in sorted((REPO / "models").glob("*.py")):
        if path.name == "__init__.py":
            continue
        if not re.search(r"^\s+_(name|inherit) = ", path.read_text(), re.MULTILINE):
            without.append(path.name)
    assert without == []


def test_one_file_per_model():
    files_of = {}
    for folder in ("models", "wizard", "report"):
        for path in sorted((REPO / folder).glob("*.py")):
            for model in re.findall(
                r"^\s+_(?:name|inherit) = \"([\w.]+)\"", path.read_text(), re.MULTILINE
            ):
                files_of.setdefault(model, set()).add(path.relative_to(REPO).as_posix())
    assert {model: files for model, files in files_of.items() if len(files) > 1} == {}
    for model, (file,) in files_of.items():
        assert Path(file).stem == model.replace(".", "_"), (model, file)


def test_the_pos_app_never_imports_its_overrides():
    app = REPO / "static" / "src" / "app"
    offending = [
        path.name
        for path in sorted(app.glob("*.js"))
        if "/overrides/" in path.read_text()
    ]
    assert offending == []


# A function longer than this is read in pieces: split it where it changes task.
LONGEST_FUNCTION = 80


def test_no_function_longer_than_a_screenful_outside_tests():
    long = []
    for path in sorted(REPO.rglob("*.py")):
        relative = path.relative_to(REPO)
        if {"tests", ".venv", "node_modules"} & set(relative.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    long.append(f"{relative}:{node.lineno} {node.name} ({lines})")
    assert long == []


ADDON_PACKAGE = "odoo.addons.l10n_fr_pos_caisse_ap_ip"
# What a bridge (bridges/<addon>/) may take from this addon: a bridge is an addon
# of its own, loaded by Odoo beside this one, never the other way round.
BRIDGES_MAY_IMPORT = {"models", "runtime", "caisse_ap"}


def _absolute_imports(path):
    """(dotted name, level) of each import; a "from X import y" gives X.y."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                yield (f"{module}.{alias.name}" if module else alias.name, node.level)


def test_bridges_take_what_they_join_only_and_are_never_taken():
    wrong = []
    for bridge in sorted(
        p.parent for p in (REPO / "bridges").glob("*/__manifest__.py")
    ):
        # Of Odoo's addons, a bridge takes those it joins (its manifest's).
        joins = ast.literal_eval((bridge / "__manifest__.py").read_text())["depends"]
        assert ADDON_PACKAGE.split(".")[-1] in joins
        for path in sorted(bridge.rglob("*.py")):
            relative = path.relative_to(bridge)
            if relative.parts[0] == "tests":
                continue  # tests may import anything, the addon's test helpers too
            for name, level in _absolute_imports(path):
                if level > len(relative.parts):
                    wrong.append(
                        f"{path.relative_to(REPO)}: relative import out of its addon"
                    )
                if name.startswith(ADDON_PACKAGE + "."):
                    room = name[len(ADDON_PACKAGE) + 1 :].split(".")[0]
                    if room not in BRIDGES_MAY_IMPORT:
                        wrong.append(f"{path.relative_to(REPO)} imports {room}/")
                elif name.startswith("odoo.addons."):
                    addon = name.split(".")[2]
                    if addon not in {*joins, bridge.name}:
                        wrong.append(f"{path.relative_to(REPO)} imports {addon}")
    for folder in MAY_IMPORT:
        for path in sorted((REPO / folder).rglob("*.py")):
            for name, _level in _absolute_imports(path):
                if "l10n_fr_pos_caisse_ap_ip_" in name:
                    wrong.append(f"{path.relative_to(REPO)} imports a bridge: {name}")
    assert wrong == []


# Rooms whose map row says "anything": they may look inside the engine. Every
# other room takes the engine's names from its face, never from a submodule.
SEE_INSIDE_THE_ENGINE = {"caisse_ap", "tests", "bench"}


def _engine_face():
    """The names of ``__all__`` in caisse_ap/__init__.py."""
    init = REPO / "caisse_ap" / "__init__.py"
    for node in ast.parse(init.read_text(), str(init)).body:
        if isinstance(node, ast.Assign) and [
            target.id for target in node.targets if isinstance(target, ast.Name)
        ] == ["__all__"]:
            return set(ast.literal_eval(node.value))
    raise AssertionError("caisse_ap/__init__.py has no __all__")


def _in_addon(dotted):
    """The parts of a module of this addon, as the repository lays it out
    ("caisse_ap.host" -> ("caisse_ap", "host")); None for any other module."""
    parts = tuple(dotted.split("."))
    prefix = tuple(ADDON_PACKAGE.split("."))
    if parts[: len(prefix)] == prefix:
        return parts[len(prefix) :]
    return parts if parts[0] == "caisse_ap" else None


def _engine_uses_outside_its_face(path, face):
    """Each way a file reaches the engine other than a name of its face:
    "from ..caisse_ap.host import x" (a submodule), "from ..caisse_ap import
    x" or "caisse_ap.x" (caisse_ap the package) with x not in ``__all__``."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(REPO).parent.parts
    packages = set()  # local names of the engine's package
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = _in_addon(alias.name)
                if parts and parts[0] == "caisse_ap" and len(parts) > 1:
                    yield node.lineno, f"import {alias.name}"
                elif parts == ("caisse_ap",):
                    packages.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # A bridge's relative imports stay in the bridge (checked above).
                if package[:1] == ("bridges",):
                    continue
                base = package[: len(package) - node.level + 1]
                module = tuple((node.module or "").split(".")) if node.module else ()
                parts = (*base, *module)
            else:
                parts = _in_addon(node.module or "")
            if parts == ():  # "from .. import caisse_ap"
                packages.update(
                    alias.asname or alias.name
                    for alias in node.names
                    if alias.name == "caisse_ap"
                )
            elif not parts or parts[0] != "caisse_ap":
                continue
            elif len(parts) > 1:
                yield node.lineno, f"from caisse_ap.{'.'.join(parts[1:])} import"
            else:
                for alias in node.names:
                    if alias.name not in face:
                        yield node.lineno, f"from caisse_ap import {alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in packages
            and node.attr not in face
        ):
            yield node.lineno, f"caisse_ap.{node.attr}"


def test_other_rooms_use_only_the_engine_face():
    face = _engine_face()
    wrong = []
    not_rooms = {"tests", ".venv", "node_modules"}  # tests of bridges too
    for path in sorted(REPO.rglob("*.py")):
        relative = path.relative_to(REPO)
        room = relative.parts[0]
        if room in SEE_INSIDE_THE_ENGINE or not_rooms & set(relative.parts):
            continue
        wrong.extend(
            f"{relative}:{line} {use}"
            for line, use in _engine_uses_outside_its_face(path, face)
        )
    assert wrong == []


def _room_map_rows():
    """The folders of the room map's first column (readme/DEVELOP.rst)."""
    text = (REPO / "readme" / "DEVELOP.rst").read_text()
    table = text.split("Architecture: the rooms", 1)[1].split("\n\n", 3)[2]
    return set(re.findall(r"^``([\w./]+?)/``", table, re.MULTILINE))


# Files that run: the folders holding them are rooms, and the map shows them all.
CODE_SUFFIXES = {".py", ".js", ".mjs", ".sh", ".sql"}


def _files_of_code():
    """Tracked files that are code (by suffix, or executable), outside the
    repository's root (the addon's own __init__ and manifest)."""
    staged = subprocess.run(
        ["git", "ls-files", "--stage"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for line in staged:
        meta, name = line.split("\t", 1)
        mode = meta.split()[0]
        if "/" in name and (mode == "100755" or Path(name).suffix in CODE_SUFFIXES):
            yield name


def test_the_room_map_has_a_row_for_each_folder_of_code():
    rows = _room_map_rows()
    assert {"caisse_ap", "static/src"} <= rows  # the table was found and read
    outside = {
        name.split("/")[0]
        for name in _files_of_code()
        if not any(name.startswith(row + "/") for row in rows)
    }
    assert sorted(outside) == []
    assert sorted(set(MAY_IMPORT) - rows) == []


def test_the_developer_doc_names_files_that_exist():
    text = (REPO / "readme" / "DEVELOP.rst").read_text()
    named = re.findall(
        r"``([\w.-]+(?:/[\w.-]+)+\.(?:py|md|js|xml|rst|sh|json))``", text
    )
    assert named
    assert [name for name in named if not (REPO / name).is_file()] == []
