"""The set-up's decisions, on fake source trees and archives: no network, no pip."""

import subprocess
import tarfile
import zipfile

import odoo_setup
import pytest
from prerequisites import SetupError

RELEASE = "version_info = ({major}, 0, 0, FINAL, 0, '')\nserie = '{major}.0'\n"


def make_tree(path, major=18):
    (path / "odoo").mkdir(parents=True)
    (path / "odoo" / "release.py").write_text(RELEASE.format(major=major))
    (path / "odoo" / "__init__.py").write_text("")
    (path / "requirements.txt").write_text("")
    return path


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path / "odoo-18.0")


@pytest.fixture(autouse=True)
def remembered(tmp_path, monkeypatch):
    """Where the set-up remembers Odoo's source: never the developer's own file."""
    path = tmp_path / "config" / "odoo_src"
    monkeypatch.setattr(odoo_setup, "REMEMBERED", path)
    return path


def test_importable_odoo_is_used_as_it_is(tree):
    for odoo_src in (None, str(tree), "/nowhere"):
        plan = odoo_setup.decide("18.0", venv_ready=False, odoo_src=odoo_src)
        assert plan.action == "current"


def test_a_ready_venv_is_reused_whatever_odoo_src_says():
    plan = odoo_setup.decide(None, venv_ready=True, odoo_src="/nowhere")
    assert plan.action == "venv"


def test_another_series_on_the_path_is_not_enough(tree):
    plan = odoo_setup.decide("17.0", venv_ready=False, odoo_src=str(tree))
    assert (plan.action, plan.source) == ("build", "tree")
    assert "Odoo 17.0 is importable, not 18.0" in plan.reason


def test_odoo_src_tree_is_used_in_place(tree):
    plan = odoo_setup.decide(None, venv_ready=False, odoo_src=str(tree))
    assert (plan.action, plan.source, plan.location) == ("build", "tree", str(tree))


def test_odoo_src_tree_of_another_series_is_refused(tmp_path):
    old = make_tree(tmp_path / "odoo-17.0", major=17)
    with pytest.raises(
        SetupError, match=r"not an Odoo 18\.0 source tree \(Odoo 17\.0\)"
    ):
        odoo_setup.decide(None, venv_ready=False, odoo_src=str(old))
    with pytest.raises(SetupError, match="no odoo/release.py"):
        odoo_setup.decide(None, venv_ready=False, odoo_src=str(tmp_path))


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_odoo_src_archive_is_unpacked_without_its_top_folder(tree, tmp_path, kind):
    archive = tmp_path / f"odoo-18.0.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zipped:
            for path in tree.rglob("*"):
                zipped.write(path, f"odoo-18.0/{path.relative_to(tree)}")
    else:
        with tarfile.open(archive, "w:gz") as tarred:
            tarred.add(tree, "odoo-18.0")
    plan = odoo_setup.decide(None, venv_ready=False, odoo_src=str(archive))
    assert (plan.action, plan.source) == ("build", "archive")
    target = tmp_path / "venv" / "odoo"
    target.parent.mkdir()
    odoo_setup.unpack(archive, target)
    assert odoo_setup.odoo_series_of_tree(target) == "18.0"


def test_odoo_src_missing_or_not_an_archive_says_what_to_do(tmp_path):
    with pytest.raises(SetupError, match="does not exist. Set ODOO_SRC"):
        odoo_setup.decide(None, venv_ready=False, odoo_src=str(tmp_path / "nothing"))
    text = tmp_path / "notes.txt"
    text.write_text("not an archive")
    with pytest.raises(SetupError, match="neither a folder nor a .tar.gz/.zip"):
        odoo_setup.decide(None, venv_ready=False, odoo_src=str(text))


def test_no_odoo_src_clones_the_official_branch():
    plan = odoo_setup.decide(None, venv_ready=False, odoo_src=None)
    assert (plan.action, plan.source) == ("build", "clone")
    assert plan.location == "https://github.com/odoo/odoo.git"


def test_without_odoo_src_the_source_of_the_last_set_up_is_used(tree):
    plan = odoo_setup.decide(None, venv_ready=False, odoo_src=None, remembered=tree)
    assert (plan.action, plan.source, plan.location) == ("build", "tree", str(tree))
    assert "remembered" in plan.reason


def test_odoo_src_wins_over_the_remembered_source(tree, tmp_path):
    other = make_tree(tmp_path / "other-18.0")
    plan = odoo_setup.decide(
        None, venv_ready=False, odoo_src=str(other), remembered=tree
    )
    assert plan.location == str(other)


def test_a_remembered_source_that_is_gone_is_not_used(tmp_path):
    old = make_tree(tmp_path / "odoo-17.0", major=17)
    for stale in (tmp_path / "deleted", old):
        plan = odoo_setup.decide(
            None, venv_ready=False, odoo_src=None, remembered=stale
        )
        assert (plan.action, plan.source) == ("build", "clone")
        assert f"{stale} (remembered" in plan.reason


def fake_run(monkeypatch, venv, built):
    """ensure_odoo_python in ``venv`` with nothing built nor run: the plans seen."""
    monkeypatch.setattr(odoo_setup, "VENV", venv)
    monkeypatch.setattr(odoo_setup, "imported_series", lambda python: None)
    monkeypatch.setattr(odoo_setup.Builder, "build", lambda self: built.append(self))
    monkeypatch.setattr(odoo_setup.os, "execve", lambda *args: None)
    monkeypatch.delenv(odoo_setup.REEXEC_MARK, raising=False)
    odoo_setup.ensure_odoo_python(["dev/run_tests.py"])


def test_a_build_from_odoo_src_serves_the_next_clone(tree, tmp_path, monkeypatch):
    built = []
    monkeypatch.setenv("ODOO_SRC", str(tree))
    fake_run(monkeypatch, tmp_path / "clone-1" / ".venv", built)
    # Another clone, in a shell without ODOO_SRC (CI): the same source.
    monkeypatch.delenv("ODOO_SRC")
    fake_run(monkeypatch, tmp_path / "clone-2" / ".venv", built)
    assert [(b.venv.parent.name, b.plan.location) for b in built] == [
        ("clone-1", str(tree)),
        ("clone-2", str(tree)),
    ]


def test_a_failed_build_remembers_nothing(tree, tmp_path, monkeypatch, remembered):
    def fail(self):
        raise SetupError("pip failed")

    monkeypatch.setenv("ODOO_SRC", str(tree))
    monkeypatch.setattr(odoo_setup, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(odoo_setup, "imported_series", lambda python: None)
    monkeypatch.setattr(odoo_setup.Builder, "build", fail)
    with pytest.raises(SetupError):
        odoo_setup.ensure_odoo_python(["dev/run_tests.py"])
    assert not remembered.exists()


def test_a_ready_venv_built_from_a_tree_tells_other_clones(tree, tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "caisse_ap_setup").mkdir(parents=True)
    (venv / "caisse_ap_setup" / "complete").write_text(f"tree {tree}\n")
    monkeypatch.setattr(odoo_setup, "VENV", venv)
    monkeypatch.setattr(
        odoo_setup,
        "imported_series",
        lambda python: "18.0" if str(python).startswith(str(venv)) else None,
    )
    monkeypatch.delenv("ODOO_SRC", raising=False)
    monkeypatch.delenv(odoo_setup.REEXEC_MARK, raising=False)
    monkeypatch.setattr(odoo_setup.os, "execve", lambda *args: None)
    odoo_setup.ensure_odoo_python(["dev/run_tests.py"])
    assert odoo_setup.remembered_source() == tree


def test_the_key_of_a_shared_environment_follows_what_it_installs(tree, monkeypatch):
    key = odoo_setup.setup_key(tree)
    assert key == odoo_setup.setup_key(tree)
    monkeypatch.setattr(
        odoo_setup, "RUNNER_PACKAGES", [*odoo_setup.RUNNER_PACKAGES, "x"]
    )
    assert odoo_setup.setup_key(tree) != key
    monkeypatch.undo()
    (tree / "requirements.txt").write_text("psutil==5.9.8\n")
    assert odoo_setup.setup_key(tree) != key


class RecordingBuilder(odoo_setup.Builder):
    """A builder whose commands are recorded, not run."""

    def __init__(self, *args, fail_on=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands = []
        self.fail_on = fail_on

    def run(self, command, what, **kwargs):
        self.commands.append((command, kwargs.get("env", {}).get("PIP_CONSTRAINT")))
        if self.fail_on and self.fail_on in command:
            raise SetupError(f"{what} failed")

    def odoo_path(self):
        self.commands.append((["write .pth", str(self.source_dir)], None))


def test_build_from_a_tree_then_a_second_run_does_nothing(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(odoo_setup, "imported_series", lambda python: "18.0")
    plan = odoo_setup.Plan("build", "tree", str(tree))
    venv = tmp_path / "venv"
    first = RecordingBuilder(plan, venv=venv)
    first.build()
    commands = [command for command, _ in first.commands]
    assert commands[0][1:3] == ["-m", "venv"]
    assert any("-r" in c and str(tree / "requirements.txt") in c for c in commands)
    assert any("pytest-odoo>=2.3" in c and "websocket-client" in c for c in commands)
    assert commands[-1] == ["write .pth", str(tree)]
    # pip runs with setuptools<81 as a constraint, builds included.
    constraints = [c for command, c in first.commands if "pip" in command]
    assert constraints and all(constraints)
    assert not (venv / "odoo").exists()  # a tree is used where it is
    assert odoo_setup.venv_is_ready(venv)
    second = RecordingBuilder(plan, venv=venv)
    second.build()
    assert second.commands == []


def test_a_failed_step_is_resumed_not_redone(tree, tmp_path, monkeypatch):
    monkeypatch.setattr(odoo_setup, "imported_series", lambda python: "18.0")
    plan = odoo_setup.Plan("build", "tree", str(tree))
    venv = tmp_path / "venv"
    broken = RecordingBuilder(plan, venv=venv, fail_on="-r")
    with pytest.raises(SetupError, match="installing"):
        broken.build()
    assert not odoo_setup.venv_is_ready(venv)
    again = RecordingBuilder(plan, venv=venv)
    again.build()
    first_command = again.commands[0][0]
    assert "-m" in first_command and "venv" not in first_command  # venv kept


def test_the_builder_works_in_the_repository_venv_by_default():
    builder = odoo_setup.Builder(odoo_setup.Plan("build", "clone"))
    assert builder.marks.parent == builder.venv == odoo_setup.REPO / ".venv"


def test_run_explains_a_failing_command(tmp_path):
    builder = odoo_setup.Builder(odoo_setup.Plan("build", "clone"), venv=tmp_path)
    with pytest.raises(SetupError, match="resumes where it stopped"):
        builder.run(["false"], "cloning Odoo")


def test_an_importable_odoo_runs_the_command_unchanged(monkeypatch):
    monkeypatch.setattr(odoo_setup, "imported_series", lambda python: "18.0")
    monkeypatch.setattr(odoo_setup.os, "execve", pytest.fail)
    odoo_setup.ensure_odoo_python(["dev/run_tests.py"])


def test_a_ready_venv_reruns_the_command_with_its_python(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "caisse_ap_setup").mkdir(parents=True)
    (venv / "caisse_ap_setup" / "complete").write_text("tree /x\n")
    monkeypatch.setattr(odoo_setup, "VENV", venv)
    monkeypatch.setattr(
        odoo_setup,
        "imported_series",
        lambda python: "18.0" if str(python).startswith(str(venv)) else None,
    )
    monkeypatch.delenv(odoo_setup.REEXEC_MARK, raising=False)
    calls = []
    monkeypatch.setattr(odoo_setup.os, "execve", lambda *args: calls.append(args))
    odoo_setup.ensure_odoo_python(["dev/run_demo.py", "--http-port", "9000"])
    python, argv, env = calls[0]
    assert python == str(venv / "bin" / "python")
    assert argv == [python, "dev/run_demo.py", "--http-port", "9000"]
    assert env[odoo_setup.REEXEC_MARK] == "1"


def test_odoo_source_is_never_committed():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", ".venv/odoo/odoo/release.py"],
        cwd=odoo_setup.REPO,
        check=False,
    )
    assert ignored.returncode == 0
