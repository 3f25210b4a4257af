"""Build the addon's wheel (odoo-addon-l10n_fr_pos_caisse_ap_ip) with whool.

whool names the distribution after the addon's folder, so the build runs from a
link named after the addon: the result is the same whatever the clone is called.

Usage: python3 tools/build_wheel.py [output folder, default ./dist]
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from odoo_env import ADDON, REPO, log


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else REPO / "dist").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # A copy, not a link: pip and whool resolve links to the real folder name.
        source = Path(tmp) / ADDON
        files = (
            subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=REPO,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split("\0")
        )
        for name in filter(None, files):
            target = source / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if (REPO / name).is_file():
                shutil.copy2(REPO / name, target)
        # whool derives the version from the manifest and the git history.
        git = ["git", "-c", "user.name=build", "-c", "user.email=build@localhost"]
        subprocess.run([*git, "init", "-q"], cwd=source, check=True)
        subprocess.run([*git, "add", "-A"], cwd=source, check=True)
        subprocess.run([*git, "commit", "-qm", "build"], cwd=source, check=True)
        cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
        subprocess.run([*cmd, "--wheel-dir", str(out), str(source)], check=True)
    wheels = sorted(out.glob("odoo_addon_l10n_fr_pos_caisse_ap_ip-*.whl"))
    if not wheels:
        log(f"no odoo-addon-{ADDON} wheel was built in {out}")
        return 1
    log(f"built {wheels[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
