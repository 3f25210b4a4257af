"""Build the addons' wheels with whool and check them.

odoo-addon-l10n_fr_pos_caisse_ap_ip, and one per bridge (bridges/<addon>/,
e.g. odoo-addon-l10n_fr_pos_caisse_ap_ip_self_order).

whool packages every file under git control and names the distribution after
the addon's folder. So the build runs on a copy named after the addon that
holds the addon's files only: the repository's development tools (benchmarks,
dev/, CI configuration) never reach a shop's server. The wheel is then listed:
the build fails when it holds anything else than the addon's files.

Usage: python3 dev/build_wheel.py [output folder, default ./dist]
"""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from prerequisites import ADDON, BRIDGES_DIR, REPO, log

# What the repository holds for its developers, not for Odoo; and the bridges,
# addons of their own with wheels of their own.
DEVELOPMENT_ONLY = (
    "bench/",
    "dev/",
    ".ci/",
    "Makefile",
    ".gitignore",
    ".pylintrc",
    "bridges/",
)
# whool reads it to build, and leaves it out of the wheel.
BUILD_ONLY = ("pyproject.toml",)


def repository_files():
    """Files under git control or new and not ignored, relative to the repository."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    names = filter(None, out.stdout.decode().split("\0"))
    return sorted(name for name in names if (REPO / name).is_file())


def addon_files(names, folder=""):
    """The names that belong in the addon at ``folder`` ("" for the main addon:
    everything but the development tools), relative to that folder."""
    if folder:
        return [name[len(folder) :] for name in names if name.startswith(folder)]
    return [name for name in names if not name.startswith(DEVELOPMENT_ONLY)]


def unexpected_entries(wheel_names, expected, addon=ADDON):
    """Entries of a wheel that are not the expected addon files nor its metadata."""
    prefix = f"odoo/addons/{addon}/"
    wanted = {prefix + name for name in expected if name not in BUILD_ONLY}
    extra = [
        name
        for name in wheel_names
        if name not in wanted and not name.split("/", 1)[0].endswith(".dist-info")
    ]
    missing = sorted(wanted - set(wheel_names))
    return extra, missing


def build(out, addon=ADDON, root=REPO):
    folder = "" if root == REPO else f"{root.relative_to(REPO)}/"
    files = addon_files(repository_files(), folder)
    with tempfile.TemporaryDirectory() as tmp:
        # A copy, not a link: pip and whool resolve links to the real folder name.
        source = Path(tmp) / addon
        for name in files:
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, target)
        # A bridge is built with the repository's build settings.
        if not (source / "pyproject.toml").exists():
            shutil.copy2(REPO / "pyproject.toml", source / "pyproject.toml")
        # whool derives the version from the manifest and the git history.
        git = ["git", "-c", "user.name=build", "-c", "user.email=build@localhost"]
        subprocess.run([*git, "init", "-q"], cwd=source, check=True)
        subprocess.run([*git, "add", "-A"], cwd=source, check=True)
        subprocess.run([*git, "commit", "-qm", "build"], cwd=source, check=True)
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        subprocess.run([*cmd, "--wheel-dir", str(out), str(source)], check=True)
    return files


def build_and_check(out, addon, root):
    """Build one addon's wheel in ``out``; 0 when it holds that addon only."""
    for old in out.glob(f"odoo_addon_{addon}-*.whl"):
        old.unlink()  # the check below must read this build's wheel
    files = build(out, addon, root)
    files = [*files, "pyproject.toml"] if root != REPO else files
    wheels = sorted(out.glob(f"odoo_addon_{addon}-*.whl"))
    if not wheels:
        log(f"no odoo-addon-{addon} wheel was built in {out}")
        return 1
    with zipfile.ZipFile(wheels[-1]) as wheel:
        names = wheel.namelist()
    extra, missing = unexpected_entries(names, files, addon)
    for name in extra:
        log(f"not an addon file, yet in the wheel: {name}")
    for name in missing:
        log(f"an addon file missing from the wheel: {name}")
    if extra or missing:
        return 1
    folders = sorted({name.split("/")[3] for name in names if name.count("/") > 3})
    log(f"built {wheels[-1]}: {len(names)} entries, the addon only")
    log(f"addon folders in the wheel: {', '.join(folders)}")
    return 0


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "dist").resolve()
    out.mkdir(parents=True, exist_ok=True)
    bridges = sorted(path.parent for path in BRIDGES_DIR.glob("*/__manifest__.py"))
    failed = build_and_check(out, ADDON, REPO)
    for bridge in bridges:
        failed |= build_and_check(out, bridge.name, bridge)
    return failed


if __name__ == "__main__":
    sys.exit(main())
