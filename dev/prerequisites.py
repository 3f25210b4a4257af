"""Shared set-up for the README's commands: prerequisites, PostgreSQL, addons path.

Nothing here imports Odoo: the first job is to say clearly, within seconds,
when Odoo 18.0 is missing. Everything is idempotent and stays outside the
repository (a temporary work folder per run).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ADDON = "l10n_fr_pos_caisse_ap_ip"
REPO = Path(__file__).resolve().parent.parent
# Addons that join this one to another Odoo addon, each in a folder of its
# own under bridges/ (an addons_path entry of their own in a shop).
BRIDGES_DIR = REPO / "bridges"
SELF_ORDER_BRIDGE = "l10n_fr_pos_caisse_ap_ip_self_order"
ODOO_SOURCE_HINT = (
    "`make demo` and `make test` set Odoo 18.0 up in .venv/ when it is missing "
    "(ODOO_SRC: a source tree or archive of https://github.com/odoo/odoo, branch "
    "18.0; else a clone of it); or install it so that `python3 -c 'import odoo'` "
    "works, then run the command again."
)
# Chromium spends seconds on each DNS lookup on machines without internet
# (web fonts of the receipts): resolve nothing but the local server.
CHROME_RESOLVER_RULES = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"


class SetupError(Exception):
    """A prerequisite is missing: the message says which and what to do."""


def log(message):
    print(f"[{ADDON}] {message}", flush=True)


def check_odoo():
    """Return Odoo's root folder, or raise SetupError when 18.0 is not importable."""
    probe = (
        "import odoo.release as r, os, odoo; "
        "print(r.serie); print(os.path.dirname(os.path.dirname(odoo.__file__)))"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SetupError("importing odoo took more than 60 s") from exc
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines()
        if lines and "No module named 'odoo'" not in lines[-1]:
            # Odoo is there but broken (a missing requirement, say): say what broke.
            raise SetupError(f"importing Odoo failed: {lines[-1]}. {ODOO_SOURCE_HINT}")
        raise SetupError(
            f"Odoo is not importable by {sys.executable}. {ODOO_SOURCE_HINT}"
        )
    serie, root = out.stdout.split()[-2:]
    if serie != "18.0":
        raise SetupError(
            f"Odoo {serie} found in {root}, but this addon needs 18.0. "
            f"{ODOO_SOURCE_HINT}"
        )
    return Path(root)


def plain_pytest_command(python, folder):
    """pytest on ``folder`` (the engine's or the tools' tests), without Odoo.

    The repository root is an Odoo addon package: pytest must not import it,
    nor look for conftest files above ``folder``. Without --confcutdir it
    imports the root's __init__.py, which fails in a clone whose folder name
    is not a Python identifier (l10n-fr-pos-caisse-ap-ip).
    """
    return [
        str(python),
        "-m",
        "pytest",
        "-p",
        "no:odoo",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(folder),
        "--confcutdir",
        str(folder),
        str(folder),
    ]


def free_tcp_port():
    """A local TCP port nothing listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def missing_modules(modules):
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util as u, sys; "
            "print(' '.join(m for m in sys.argv[1:] if u.find_spec(m) is None))",
            *modules,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def ensure_python_packages(packages):
    """Install {import name: pip requirement} entries that are not importable yet."""
    missing = missing_modules(list(packages))
    if not missing:
        return
    requirements = [packages[name] for name in missing]
    log(f"installing {' '.join(requirements)} from PyPI")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        # Odoo's gevent process imports pkg_resources, gone from setuptools 81.
        constraints.write("setuptools<81\n")
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "-c",
                constraints.name,
                *requirements,
            ],
            check=True,
        )
    finally:
        os.unlink(constraints.name)


def ensure_chromium():
    """Debian's chromium for the browser tours."""
    if shutil.which("chromium"):
        return shutil.which("chromium")
    if not shutil.which("apt-get"):
        raise SetupError(
            "Chromium is needed for the browser tours: "
            "install Debian's package `chromium`."
        )
    log("installing Debian's chromium for the browser tours")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env)
    return shutil.which("chromium")


def ensure_postgresql():
    """Start the local PostgreSQL cluster when it is down."""
    if subprocess.run(["pg_isready", "-q"], check=False).returncode == 0:
        return
    if shutil.which("pg_ctlcluster") and Path("/etc/postgresql").is_dir():
        for version in sorted(os.listdir("/etc/postgresql")):
            log(f"starting PostgreSQL {version}")
            subprocess.run(
                [
                    "pg_ctlcluster",
                    "--skip-systemctl-redirect",
                    version,
                    "main",
                    "start",
                ],
                check=False,
            )
    for _attempt in range(30):
        if subprocess.run(["pg_isready", "-q"], check=False).returncode == 0:
            return
        time.sleep(1)
    raise SetupError(
        "PostgreSQL is not running on this machine and could not be started."
    )


def database_exists(name):
    out = subprocess.run(
        [
            "psql",
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() == "1"


def drop_database(name, data_dir=None):
    subprocess.run(["dropdb", "--if-exists", "--force", name], check=False)
    if data_dir:
        shutil.rmtree(Path(data_dir) / "filestore" / name, ignore_errors=True)


class Workspace:
    """A temporary folder: the addons link, the Chromium wrapper, the Odoo config."""

    def __init__(self, odoo_root, prefix, path=None):
        """A new temporary folder, or ``path`` kept between runs (the demo's)."""
        self.odoo_root = odoo_root
        if path is None:
            self.path = Path(tempfile.mkdtemp(prefix=f"{prefix}_"))
        else:
            self.path = Path(path)
            self.path.mkdir(parents=True, exist_ok=True)
        self.addons = self.path / "addons"
        self.addons.mkdir(exist_ok=True)
        # Odoo knows an addon by its folder's name, whatever the clone is called.
        self.addon = self._link(ADDON, REPO)
        self.bridges = {
            path.name: self._link(path.name, path)
            for path in sorted(BRIDGES_DIR.iterdir())
            if (path / "__manifest__.py").exists()
        }
        self.bin = self.path / "bin"
        self.bin.mkdir(exist_ok=True)
        self.data_dir = self.path / "data"
        self.config = self.path / "odoo.conf"

    def _link(self, name, target):
        link = self.addons / name
        if link.is_symlink():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
        return link

    def install_chrome_wrapper(self, chromium):
        wrapper = self.bin / "google-chrome"
        wrapper.write_text(
            "#!/bin/sh\n"
            f'exec {chromium} --host-resolver-rules="{CHROME_RESOLVER_RULES}" '
            "--disable-background-networking --disable-component-update "
            '--disable-sync "$@"\n'
        )
        wrapper.chmod(0o755)

    def env(self):
        return dict(
            os.environ, PATH=f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"
        )

    def write_config(self, db_name, http_port=None, extra=None):
        addons_path = [
            str(self.odoo_root / "odoo" / "addons"),
            str(self.odoo_root / "addons"),
            str(self.addons),
        ]
        lines = [
            "[options]",
            f"addons_path = {','.join(addons_path)}",
            f"data_dir = {self.data_dir}",
            f"db_name = {db_name}",
            f"dbfilter = ^{db_name}$",
            "list_db = False",
            "max_cron_threads = 0",
        ]
        if http_port:
            lines.append(f"http_port = {http_port}")
        for key, value in (extra or {}).items():
            lines.append(f"{key} = {value}")
        self.config.write_text("\n".join(lines) + "\n")
        return self.config

    def odoo(self, *args, command=None, **kwargs):
        """Run Odoo (or one of its commands, such as ``shell``) with this config."""
        prefix = [command] if command else []
        return subprocess.run(
            [sys.executable, "-m", "odoo", *prefix, "-c", str(self.config), *args],
            env=self.env(),
            check=kwargs.pop("check", True),
            **kwargs,
        )

    def odoo_process(self, *args):
        """Start Odoo with this config in the background."""
        return subprocess.Popen(
            [sys.executable, "-m", "odoo", "-c", str(self.config), *args],
            env=self.env(),
        )

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)
