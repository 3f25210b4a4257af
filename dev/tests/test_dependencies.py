"""No code in the repository needs a package that the README's set-up does not install.

The set-up (dev/odoo_setup.py) installs Odoo's requirements.txt and the test
runner's packages, nothing more: a test, benchmark or script that imports
anything else passes only where someone installed it by hand. Every import is
read with ast (nothing is imported) and traced to the installed distribution
that provides it. `make test-dev` runs this in the Python the set-up built.
"""

import ast
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from odoo_setup import RUNNER_PACKAGES
from prerequisites import REPO
from run_engine_pythons import PACKAGES as ENGINE_TEST_PACKAGES


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(lines):
    """Distribution names of pip requirement lines (versions, markers, comments off)."""
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if match:
            names.add(normalized(match.group()))
    return names


def top_level_imports(path):
    """The first component of every absolute import in a Python file."""
    tree = ast.parse(Path(path).read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module.split(".")[0])
    return names


def local_modules(files):
    """Modules the repository provides itself: its files and packages (the
    scripts of dev/ and bench/ import their neighbours by name)."""
    names = {Path(name).stem for name in files}
    names |= {Path(name).parent.name for name in files if name.endswith("__init__.py")}
    return names - {"__init__"}


def unprovided_imports(files, root, allowed, distributions, local=None):
    """(file, module, why) for each import of a package outside ``allowed``.

    allowed: normalized distribution names the set-up installs; distributions:
    module -> distributions providing it (importlib.metadata's map).
    """
    local = local_modules(files) if local is None else local
    problems = []
    for name in files:
        for module in sorted(top_level_imports(Path(root) / name)):
            if module in sys.stdlib_module_names or module in local:
                continue
            providers = distributions.get(module, [])
            if not providers:
                problems.append((name, module, "installed by no distribution here"))
            elif not allowed & {normalized(dist) for dist in providers}:
                problems.append(
                    (
                        name,
                        module,
                        f"from {', '.join(providers)}, not installed by the set-up",
                    )
                )
    return problems


def repository_python_files():
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    names = filter(None, out.stdout.decode().split("\0"))
    return sorted(name for name in names if (REPO / name).is_file())


def set_up_packages():
    """Normalized names of what the set-up installs in the running Python."""
    spec = importlib.util.find_spec("odoo")
    if spec is None:
        pytest.fail(
            f"{sys.executable} does not import Odoo: run this with the Python the "
            "README's set-up builds (`make test-dev` does)."
        )
    odoo_root = Path(next(iter(spec.submodule_search_locations))).parent
    requirements = (odoo_root / "requirements.txt").read_text().splitlines()
    return requirement_names(requirements) | requirement_names(RUNNER_PACKAGES)


def test_no_file_imports_a_package_the_set_up_does_not_install():
    files = repository_python_files()
    assert "bench/odoo_server.py" in files and "dev/tests/conftest.py" in files
    problems = unprovided_imports(
        files,
        REPO,
        set_up_packages() | {"odoo"},
        importlib.metadata.packages_distributions(),
        local_modules(files) | {"odoo"},  # Odoo's source, on the path by a .pth
    )
    assert problems == []


def test_engine_tests_need_pytest_and_hypothesis_only():
    """The engine's tests also run on the other Pythons (dev/run_engine_pythons.py),
    in virtual environments that hold these two packages and nothing else."""
    files = [
        name for name in repository_python_files() if name.startswith("tests/engine/")
    ]
    assert files
    distributions = {name: [name] for name in ENGINE_TEST_PACKAGES}
    problems = unprovided_imports(
        files,
        REPO,
        set(ENGINE_TEST_PACKAGES),
        distributions,
        local_modules(files) | {"caisse_ap"},
    )
    assert problems == []


def test_an_import_of_a_package_installed_by_hand_is_found(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "soak.py").write_text(
        "import os\nimport psutil\nimport yaml.loader\nfrom common import x\n"
        "from . import sibling\nimport requests_toolbelt\n"
    )
    (tmp_path / "bench" / "common.py").write_text("x = 1\n")
    files = ["bench/common.py", "bench/soak.py"]
    distributions = {"psutil": ["psutil"], "yaml": ["PyYAML"]}
    problems = unprovided_imports(
        files,
        tmp_path,
        requirement_names(["psutil==5.9.8 ; python_version >= '3.12'"]),
        distributions,
    )
    assert problems == [
        ("bench/soak.py", "requests_toolbelt", "installed by no distribution here"),
        ("bench/soak.py", "yaml", "from PyYAML, not installed by the set-up"),
    ]


def test_requirement_names_read_pip_lines():
    lines = [
        "# a comment",
        "Babel==2.10.3 ; python_version < '3.11'  # (Jammy)",
        "python-ldap==3.4.4",
        "pytest-odoo>=2.3",
        "lxml-html-clean; python_version >= '3.12'",
        "",
    ]
    assert requirement_names(lines) == {
        "babel",
        "python-ldap",
        "pytest-odoo",
        "lxml-html-clean",
    }
