"""Odoo 18.0 for the README's commands: the installed one, or one built in .venv/.

`make demo` and `make test` need a Python that imports Odoo 18.0. When the
Python running them has it (CI, a developer's machine), nothing happens. When
not, they build it once in the repository's ignored `.venv/`:

1. a virtual environment of the running Python;
2. Odoo's source: `ODOO_SRC` (a source tree of the official 18.0 branch, used
   in place, or an archive of it, unpacked in .venv/); when that is unset, the
   source of the last set-up on this machine (remembered in
   ~/.config/l10n_fr_pos_caisse_ap_ip/odoo_src, so that another clone finds
   it); else a shallow clone of https://github.com/odoo/odoo, branch 18.0;
3. Odoo's requirements.txt, with `setuptools<81` (Odoo's bus process imports
   pkg_resources) as a pip constraint, also for the packages pip builds;
4. the test runner's packages (pytest-odoo, websocket-client, ...);
5. a .pth file that makes Odoo importable in that environment.

Each step leaves a mark in .venv/, so that a failed run resumes where it
stopped and a second run does nothing. Odoo's source stays out of git.

`python3 dev/odoo_setup.py` does the set-up alone and prints the Python that
imports Odoo 18.0 (CI runs every step with it).
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from prerequisites import ADDON, REPO, SetupError, check_odoo, log

SERIES = "18.0"
OFFICIAL_REPOSITORY = "https://github.com/odoo/odoo.git"
VENV = REPO / ".venv"
# Set in the environment of the command re-run with the .venv's Python.
REEXEC_MARK = "CAISSE_AP_ODOO_VENV"
RUNNER_PACKAGES = [
    "pytest",
    "pytest-odoo>=2.3",
    "websocket-client",
    "hypothesis",
]
CONSTRAINTS = "setuptools<81\n"
# Per user, not per clone: a clone without ODOO_SRC (CI's, a second checkout)
# builds from the source the first set-up was given.
REMEMBERED = (
    Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    / ADDON
    / "odoo_src"
)
WHAT_TO_DO = (
    "Set ODOO_SRC to a source tree or an archive of Odoo 18.0 (official "
    "repository https://github.com/odoo/odoo, branch 18.0), or make `python3 -c "
    "'import odoo'` work, then run the command again"
)


@dataclass(frozen=True)
class Plan:
    """What to do to get a Python that imports Odoo 18.0.

    action: "current" (the running Python has it), "venv" (.venv/ has it),
    "build" (make .venv/). source: for "build", "tree", "archive" or "clone".
    """

    action: str
    source: str = ""
    location: str = ""
    reason: str = ""


def odoo_series_of_tree(path):
    """The series ("18.0") of an Odoo source tree, or None when it is none."""
    release = Path(path) / "odoo" / "release.py"
    if not release.is_file():
        return None
    match = re.search(
        r"^version_info\s*=\s*\((\d+),\s*(\d+)", release.read_text(), re.MULTILINE
    )
    return f"{match.group(1)}.{match.group(2)}" if match else None


def is_archive(path):
    return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)


def decide(current, venv_ready, odoo_src, remembered=None):
    """The plan, from what is known (no side effect: the tests call it directly).

    current: the Odoo series the running Python imports, or None;
    venv_ready: .venv/ was completed and its Python imports Odoo 18.0;
    odoo_src: the value of ODOO_SRC, or None;
    remembered: the source of the last set-up on this machine, or None.
    """
    if current == SERIES:
        return Plan("current", reason=f"Odoo {SERIES} is importable")
    why = (
        f"Odoo {current} is importable, not {SERIES}"
        if current
        else f"Odoo {SERIES} is not importable"
    )
    if venv_ready:
        return Plan("venv", reason=f"{why} by {sys.executable}; .venv/ has it")
    if not odoo_src and remembered:
        path = Path(remembered)
        if path.is_file() and is_archive(path):
            source = "archive"
        elif path.is_dir() and odoo_series_of_tree(path) == SERIES:
            source = "tree"
        else:  # moved or replaced since: say so, then do as if unset
            why = f"{why}; {path} (remembered) is no longer an Odoo {SERIES} source"
            source = None
        if source:
            return Plan(
                "build",
                source,
                str(path),
                f"{why}; ODOO_SRC is unset: {path}, remembered from the last "
                f"set-up in {REMEMBERED}",
            )
    if not odoo_src:
        return Plan("build", "clone", OFFICIAL_REPOSITORY, why)
    path = Path(odoo_src).expanduser().resolve()
    if path.is_dir():
        series = odoo_series_of_tree(path)
        if series != SERIES:
            found = f"Odoo {series}" if series else "no odoo/release.py"
            raise SetupError(
                f"ODOO_SRC={odoo_src} is not an Odoo {SERIES} source tree "
                f"({found}). {WHAT_TO_DO}."
            )
        return Plan("build", "tree", str(path), why)
    if path.is_file():
        if not is_archive(path):
            raise SetupError(
                f"ODOO_SRC={odoo_src} is neither a folder nor a .tar.gz/.zip "
                f"archive. {WHAT_TO_DO}."
            )
        return Plan("build", "archive", str(path), why)
    raise SetupError(f"ODOO_SRC={odoo_src} does not exist. {WHAT_TO_DO}.")


def venv_python(venv=None):
    return (venv or VENV) / "bin" / "python"


def imported_series(python):
    """The Odoo series `python` imports, or None (missing or broken Odoo)."""
    try:
        out = subprocess.run(
            [str(python), "-c", "import odoo.release as r; print(r.serie)"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


class Builder:
    """The steps that make .venv/; each is skipped when its mark is there."""

    def __init__(self, plan, venv=None, python=sys.executable):
        self.plan = plan
        self.venv = venv or VENV
        self.base_python = python
        self.python = venv_python(venv)
        self.marks = self.venv / "caisse_ap_setup"

    def done(self, step):
        return (self.marks / step).is_file()

    def mark(self, step, text=""):
        self.marks.mkdir(parents=True, exist_ok=True)
        (self.marks / step).write_text(text)

    def run(self, command, what, **kwargs):
        """Run a step's command; on failure, say which step and what to do."""
        try:
            subprocess.run(command, check=True, **kwargs)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SetupError(
                f"{what} failed ({exc}). The output above says why; fix that "
                "and run the command again: it resumes where it stopped "
                f"(delete {self.venv} to start afresh)."
            ) from exc

    def build(self):
        steps = [
            ("venv", "creating the virtual environment", self.make_venv),
            ("source", "getting Odoo's source", self.get_source),
            ("requirements", "installing Odoo's requirements", self.requirements),
            ("runner", "installing the test runner", self.runner),
            ("odoo-path", "making Odoo importable", self.odoo_path),
        ]
        for number, (step, title, action) in enumerate(steps, 1):
            if self.done(step):
                log(f"[{number}/{len(steps)}] {title}: already done")
                continue
            log(f"[{number}/{len(steps)}] {title}")
            action()
            self.mark(step)
        series = imported_series(self.python)
        if series != SERIES:
            raise SetupError(
                f"{self.python} still does not import Odoo {SERIES} after the "
                f"set-up. Delete {self.venv} and run the command again."
            )
        self.mark("complete", f"{self.plan.source} {self.plan.location}\n")
        log(f"Odoo {SERIES} is ready in {self.venv}")

    @property
    def source_dir(self):
        """Where Odoo's source is: the tree itself, or a folder of .venv/."""
        if self.plan.source == "tree":
            return Path(self.plan.location)
        return self.venv / "odoo"

    def make_venv(self):
        self.run(
            [self.base_python, "-m", "venv", "--clear", str(self.venv)],
            "creating a virtual environment with "
            f"{self.base_python} (Debian: apt-get install python3-venv)",
        )

    def get_source(self):
        target = self.venv / "odoo"
        shutil.rmtree(target, ignore_errors=True)
        if self.plan.source == "tree":
            log(f"using the Odoo source tree {self.plan.location} in place")
        elif self.plan.source == "archive":
            log(f"unpacking {self.plan.location}")
            unpack(Path(self.plan.location), target)
        else:
            log(f"cloning {OFFICIAL_REPOSITORY}, branch {SERIES} (depth 1)")
            self.run(
                [
                    "git",
                    "clone",
                    "--depth",
                    "1",
                    "--branch",
                    SERIES,
                    OFFICIAL_REPOSITORY,
                    str(target),
                ],
                f"cloning Odoo (without internet, set ODOO_SRC instead: {WHAT_TO_DO})",
            )
        series = odoo_series_of_tree(self.source_dir)
        if series != SERIES:
            raise SetupError(
                f"{self.source_dir} holds Odoo {series or '(no odoo/release.py)'}, "
                f"not {SERIES}. {WHAT_TO_DO}."
            )

    def pip(self, *args, what):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as file:
            file.write(CONSTRAINTS)
        # PIP_CONSTRAINT reaches the isolated environments pip builds packages
        # in too, which a -c option would not.
        env = dict(os.environ, PIP_CONSTRAINT=file.name)
        try:
            self.run([str(self.python), "-m", "pip", "install", *args], what, env=env)
        finally:
            os.unlink(file.name)

    def requirements(self):
        requirements = self.source_dir / "requirements.txt"
        self.pip(
            "--progress-bar",
            "off",
            "setuptools<81",
            "wheel",
            "-r",
            str(requirements),
            what=f"installing {requirements} (Debian builds some of them: "
            "apt-get install build-essential python3-dev libpq-dev libldap2-dev "
            "libsasl2-dev)",
        )

    def runner(self):
        self.pip("--progress-bar", "off", *RUNNER_PACKAGES, what="installing pytest")

    def odoo_path(self):
        out = subprocess.run(
            [
                str(self.python),
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        pth = Path(out.stdout.strip()) / "odoo_18_source.pth"
        pth.write_text(f"{self.source_dir}\n")


def unpack(archive, target):
    """Unpack an archive of Odoo's source into target, without its top folder."""
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(tmp)
        else:
            with tarfile.open(archive) as tarred:
                if hasattr(tarfile, "data_filter"):
                    # Refuse links and paths that leave the target folder.
                    tarred.extractall(tmp, filter="data")
                else:  # Python < 3.10.12 / 3.11.4
                    tarred.extractall(tmp)  # noqa: S202
        entries = list(Path(tmp).iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(tmp)
        shutil.move(str(root), str(target))


def remembered_source():
    """The Odoo source of the last set-up on this machine, or None."""
    try:
        text = REMEMBERED.read_text().strip()
    except OSError:
        return None
    return Path(text) if text else None


def remember(plan):
    """Keep a set-up's source (a tree or an archive, not a clone) for other clones."""
    if plan.source not in ("tree", "archive"):
        return
    try:
        REMEMBERED.parent.mkdir(parents=True, exist_ok=True)
        REMEMBERED.write_text(f"{plan.location}\n")
    except OSError as exc:  # a read-only home costs the next clone ODOO_SRC only
        log(f"could not remember Odoo's source in {REMEMBERED}: {exc}")


def built_from(venv=None):
    """The plan a completed venv was built with (its "complete" mark), or None."""
    try:
        source, location = (
            ((venv or VENV) / "caisse_ap_setup" / "complete").read_text().split(None, 1)
        )
    except (OSError, ValueError):
        return None
    return Plan("venv", source, location.strip())


def setup_key(source_dir):
    """A short digest of what a venv built from ``source_dir`` holds: a venv shared
    by clones (under ~/.cache) is reused only by a clone that would install the same."""
    requirements = Path(source_dir) / "requirements.txt"
    text = "\n".join(
        [
            str(source_dir),
            requirements.read_text() if requirements.is_file() else "",
            *RUNNER_PACKAGES,
            CONSTRAINTS,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def venv_is_ready(venv=None):
    venv = venv or VENV
    return (venv / "caisse_ap_setup" / "complete").is_file() and imported_series(
        venv_python(venv)
    ) == SERIES


def ensure_odoo_python(argv):
    """Return when the running Python imports Odoo 18.0; else re-run with .venv's.

    argv: the command line to run again (sys.argv) with .venv's Python.
    """
    current = imported_series(sys.executable)
    if current == SERIES:
        return
    if os.environ.get(REEXEC_MARK):
        raise SetupError(f"{sys.executable} from .venv/ does not import Odoo {SERIES}")
    plan = decide(
        current, venv_is_ready(), os.environ.get("ODOO_SRC"), remembered_source()
    )
    log(plan.reason)
    if plan.action == "build":
        log(
            f"setting Odoo {SERIES} up in {VENV} from {plan.source} {plan.location} "
            "(once; a few minutes)"
        )
        Builder(plan).build()
        remember(plan)
    elif remembered_source() is None:
        # Built before the set-up remembered its source: other clones need it.
        source = built_from()
        if source and Path(source.location).exists():
            remember(source)
    python = str(venv_python())
    log(f"running with {python}")
    sys.stdout.flush()
    os.execve(python, [python, *argv], dict(os.environ, **{REEXEC_MARK: "1"}))


def ensure_odoo():
    """Odoo 18.0's root folder, after setting it up in .venv/ when it is missing."""
    ensure_odoo_python(sys.argv)
    return check_odoo()


def main():
    """Set Odoo 18.0 up when it is missing; print the Python that imports it."""
    try:
        ensure_odoo_python(sys.argv)
    except SetupError as exc:
        log(f"cannot set Odoo {SERIES} up: {exc}")
        return 2
    print(sys.executable)
    return 0


if __name__ == "__main__":
    sys.exit(main())
