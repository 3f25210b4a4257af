"""Shared pieces of the benchmarks: Odoo server, databases, sessions, probes, reports.

Nothing here is part of the addon (Odoo never imports ``bench/``). Every
process, database and folder made here is removed at the end of a run, and
every loop is bounded in count and time. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psutil

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
README = BENCH / "README.md"
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO))

import odoo_env  # noqa: E402  (tools/odoo_env.py, by path)

from caisse_ap.scenario import Scenario  # noqa: E402
from caisse_ap.simulator import MultiTerminalSimulator  # noqa: E402

ADDON = odoo_env.ADDON
TERMINAL_KEY = "fr-caisse_ap_ip"
HOST = "127.0.0.1"
LOGIN = PASSWORD = "admin"  # the demo data's administrator
FINAL_STATES = ("success", "failure", "unknown", "error")

__all__ = [
    "FINAL_STATES",
    "HOST",
    "MultiTerminalSimulator",
    "Scenario",
]


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)


# -- statistics -------------------------------------------------------------
def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f}"


def mib(size: float) -> str:
    return f"{size / 1048576:.0f}"


def summary_ms(values: Sequence[float]) -> tuple[str, str, str, str]:
    """(count, p50, p95, max) in milliseconds."""
    if not values:
        return ("0", "n/a", "n/a", "n/a")
    return (
        str(len(values)),
        ms(percentile(values, 0.5)),
        ms(percentile(values, 0.95)),
        ms(max(values)),
    )


# -- the machine and the run --------------------------------------------------
def git_commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    # The results and this README are rewritten by the runs themselves.
    own = (":!bench/results", ":!bench/README.md")
    if git("status", "--porcelain", "--untracked-files=no", "--", ".", *own):
        commit += " (tree has uncommitted changes)"
    return commit


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def other_load() -> str:
    """Heavy neighbours that skew the figures (the full test suite, say)."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] != me and "run_tests.py" in cmdline:
            found.append(proc.info["pid"])
    return (
        f"test suite running (pid {', '.join(map(str, found))})"
        if found
        else "none seen"
    )


def machine_line() -> str:
    ram = psutil.virtual_memory().total / 1024**3
    cpus = f"{os.cpu_count()} CPU ({cpu_model()})"
    return f"{cpus}, {ram:.0f} GiB RAM, Linux {platform.release()}"


def load_line() -> str:
    one, five, _fifteen = os.getloadavg()
    average = f"load average {one:.2f} (1 min) / {five:.2f} (5 min)"
    return f"{average}; other load: {other_load()}"


# When the script started, before any measurement (the report is made at the end).
RUN_STARTED = datetime.datetime.now().astimezone()
LOAD_AT_START = load_line()


# -- reports ----------------------------------------------------------------
def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Tables and notes, printed and written to bench/results/<name>.md."""

    def __init__(self, name: str, title: str, command: str = "") -> None:
        self.name = name
        self.title = title
        self.command = command or "python3 " + " ".join(
            [f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]]
        )
        self.started = RUN_STARTED
        self.load_at_start = LOAD_AT_START
        self.parts: list[str] = []
        self.verdicts: list[tuple[str, bool, str]] = []

    def table(
        self, headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = ""
    ) -> None:
        text = markdown_table(headers, rows)
        self.parts.append(f"**{title}**\n\n{text}" if title else text)

    def note(self, text: str) -> None:
        self.parts.append(text)

    def check(self, goal: str, ok: bool, measured: str) -> bool:
        self.verdicts.append((goal, ok, measured))
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.verdicts) and all(ok for _goal, ok, _m in self.verdicts)

    def render(self) -> str:
        head = [
            f"### {self.title}",
            "",
            f"- date: {self.started:%Y-%m-%d %H:%M %Z}",
            f"- machine: {machine_line()}",
            f"- commit: {git_commit()}; Odoo {odoo_version()}; "
            f"Python {platform.python_version()}",
            f"- command: `{self.command}`",
            f"- at start: {self.load_at_start}",
            f"- at end: {load_line()}",
            "",
        ]
        body = "\n\n".join(self.parts)
        goals = markdown_table(
            ("goal", "met", "measured"),
            [
                (goal, "yes" if ok else "**NO**", measured)
                for goal, ok, measured in self.verdicts
            ],
        )
        verdict = "all goals met" if self.ok else "at least one goal NOT met"
        return (
            "\n".join(head) + "\n" + body + f"\n\n**Verdict: {verdict}**\n\n{goals}\n"
        )

    def save(self, write: bool = True) -> str:
        text = self.render()
        print(text, flush=True)
        if write:
            RESULTS.mkdir(exist_ok=True)
            path = RESULTS / f"{self.name}.md"
            path.write_text(text)
            update_readme(self.name, text)
            log(f"results written to {path.relative_to(REPO)} and bench/README.md")
        return text


def update_readme(name: str, text: str) -> None:
    """Replace the section between the README's markers for ``name``."""
    if not README.exists():
        return
    start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
    content = README.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(content):
        return
    demoted = text.replace("\n### ", "\n#### ").replace("### ", "#### ", 1)
    README.write_text(pattern.sub(lambda _m: f"{start}\n{demoted}\n{end}", content))


_ODOO_VERSION = ""


def odoo_version() -> str:
    global _ODOO_VERSION
    if not _ODOO_VERSION:
        out = subprocess.run(
            [sys.executable, "-c", "import odoo.release as r; print(r.version)"],
            capture_output=True,
            text=True,
            check=False,
        )
        _ODOO_VERSION = out.stdout.strip() or "unknown"
    return _ODOO_VERSION


# -- processes ----------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def process_kind(proc: psutil.Process, master_pid: int) -> str:
    """master, http, cron or gevent (Odoo's process titles need setproctitle)."""
    if proc.pid == master_pid:
        return "master"
    try:
        if "gevent" in proc.cmdline():
            return "gevent"
        # The cron worker lowers its priority (os.nice(10)); HTTP workers do not.
        return "cron" if proc.nice() > 0 else "http"
    except psutil.Error:
        return "gone"


def _connections(proc: psutil.Process) -> list[Any]:
    method = getattr(proc, "net_connections", None) or proc.connections
    return method(kind="tcp")


# Odoo's command line, as odoo-bin does it, plus one work-around for the bus
# process: gevent loads its own monkey-patch plugins through pkg_resources,
# whose requirement check cannot find zope.interface >= 7 (dist-info named
# zope_interface) with old setuptools: the plugins are loaded without it.
LAUNCHER = """import sys

if sys.argv[1:2] == ["gevent"]:
    import gevent.events

    def notify_and_call_entry_points(event):
        gevent.events.notify(event)
        for plugin in gevent.events.iter_entry_points(event.ENTRY_POINT_NAME):
            plugin.resolve()(event)

    gevent.events.notify_and_call_entry_points = notify_and_call_entry_points

import odoo

odoo.cli.main()
"""


class OdooServer:
    """``python3 -m odoo`` in prefork mode, in its own process group."""

    def __init__(
        self,
        workspace: odoo_env.Workspace,
        db: str,
        *,
        workers: int = 2,
        cron_threads: int = 1,
        limit_time_real: int = 120,
        log_level: str = "info",
        extra_args: Sequence[str] = (),
    ) -> None:
        self.workspace = workspace
        self.db = db
        self.workers = workers
        self.cron_threads = cron_threads
        self.limit_time_real = limit_time_real
        self.log_level = log_level
        self.extra_args = list(extra_args)
        self.http_port = free_port()
        self.gevent_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_path = workspace.path / f"odoo-{db}.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def command(self) -> list[str]:
        # Not `python3 -m odoo`: in prefork mode the master starts the bus process
        # as `sys.executable sys.argv[0] gevent ...`, which fails when argv[0] is
        # odoo/__main__.py. A launcher script (like odoo-bin) makes argv[0] work.
        launcher = self.workspace.path / "odoo-server.py"
        if not launcher.exists():
            launcher.write_text(LAUNCHER)
        return [
            sys.executable,
            str(launcher),
            "-c",
            str(self.workspace.config),
            "-d",
            self.db,
            f"--db-filter=^{self.db}$",
            f"--http-interface={HOST}",
            f"--http-port={self.http_port}",
            f"--gevent-port={self.gevent_port}",
            f"--workers={self.workers}",
            f"--max-cron-threads={self.cron_threads}",
            f"--limit-time-real={self.limit_time_real}",
            f"--logfile={self.log_path}",
            f"--log-level={self.log_level}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 180.0) -> None:
        self.starts += 1
        with open(self.log_path, "a") as out:
            out.write(f"\n===== bench: server start #{self.starts} =====\n")
        self.proc = subprocess.Popen(  # noqa: S603
            self.command(),
            env=self.workspace.env(),
            stdout=subprocess.DEVNULL,
            stderr=open(self.workspace.path / f"odoo-{self.db}.stderr", "ab"),  # noqa: SIM115
            start_new_session=True,  # its own process group: killed as one
        )
        log(f"Odoo server pid {self.proc.pid} starting on {self.url} (db {self.db})")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"Odoo exited with {self.proc.returncode}: see {self.log_path}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.http_port, timeout=5)
                conn.request("GET", "/web/login")
                status = conn.getresponse().status
                conn.close()
                if (
                    status < 500
                    and len(self.processes_by_kind().get("http", [])) >= self.workers
                ):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(
            f"Odoo did not answer within {timeout:.0f} s: see {self.log_path}"
        )

    def stop(self, timeout: float = 30.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL of the whole group if needed."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log("Odoo did not stop in time: killing its process group")
        self.kill_group()
        self.proc = None

    def kill(self) -> None:
        """A crash: SIGKILL to the master, its workers and the bus process at once."""
        if self.proc is None:
            return
        self.kill_group()
        self.proc = None

    def kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)

    def processes(self) -> list[psutil.Process]:
        if self.proc is None:
            return []
        try:
            master = psutil.Process(self.proc.pid)
            return [master, *master.children(recursive=True)]
        except psutil.Error:
            return []

    def processes_by_kind(self) -> dict[str, list[psutil.Process]]:
        kinds: dict[str, list[psutil.Process]] = {}
        if self.proc is None:
            return kinds
        for proc in self.processes():
            kinds.setdefault(process_kind(proc, self.proc.pid), []).append(proc)
        return kinds

    def resources(self) -> dict[str, Any]:
        """RSS, open file descriptors and threads, per process kind and summed."""
        total = {"rss": 0, "fds": 0, "threads": 0, "processes": 0}
        per_kind: dict[str, dict[str, int]] = {}
        for kind, procs in self.processes_by_kind().items():
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
                    threads = proc.num_threads()
                except (psutil.Error, OSError):
                    continue
                slot = per_kind.setdefault(
                    kind, {"rss": 0, "fds": 0, "threads": 0, "processes": 0}
                )
                for key, value in (("rss", rss), ("fds", fds), ("threads", threads)):
                    slot[key] += value
                    total[key] += value
                slot["processes"] += 1
                total["processes"] += 1
        return {"total": total, "per_kind": per_kind}

    def log_lines(self, *needles: str, start: int = 0) -> list[str]:
        """Lines of Odoo's log holding one of ``needles`` (all with none), from
        line number ``start`` on."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()[start:]
        except OSError:
            return []
        if not needles:
            return lines
        return [line for line in lines if any(n in line for n in needles)]


# Odoo's access log: "POST /path HTTP/1.0" 200 - <queries> <query s> <other s>
ACCESS_LINE = re.compile(r'"POST (\S+) HTTP/[\d.]+" (\d+) - (\d+) ([\d.]+) ([\d.]+)')


def server_times(lines: Iterable[str]) -> dict[str, list[float]]:
    """Seconds Odoo spent on each request (SQL + Python), by the path's last part."""
    times: dict[str, list[float]] = {}
    for line in lines:
        match = ACCESS_LINE.search(line)
        if match:
            path = match.group(1).rstrip("/").rsplit("/", 1)[-1]
            seconds = float(match.group(4)) + float(match.group(5))
            times.setdefault(path, []).append(seconds)
    return times


def pg_connections(db: str) -> int:
    out = subprocess.run(
        [
            "psql",
            "-d",
            "postgres",
            "-tAc",
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(out.stdout.strip() or -1)


# -- databases ----------------------------------------------------------------
class Bench:
    """One run: a workspace, a template database, the databases made from it."""

    def __init__(self, prefix: str, template: str = "", keep: bool = False) -> None:
        self.odoo_root = odoo_env.check_odoo()
        odoo_env.ensure_postgresql()
        self.prefix = prefix
        self.stamp = f"{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
        self.workspace = odoo_env.Workspace(self.odoo_root, f"caisse_ap_bench_{prefix}")
        self.workspace.write_config(f"caisse_ap_bench_{prefix}")
        self.keep = keep
        self.template = template
        self.own_template = not template
        self.databases: list[str] = []
        self.servers: list[OdooServer] = []
        self.simulators: list[MultiTerminalSimulator] = []

    # The template: the addon installed with the demo data, once per run.
    def build_template(self) -> str:
        if self.template:
            if not odoo_env.database_exists(self.template):
                raise RuntimeError(f"template database {self.template} does not exist")
            log(f"using the existing template database {self.template}")
            return self.template
        self.template = f"caisse_ap_bench_tpl_{self.stamp}"
        self.databases.append(self.template)
        log(
            f"building the template {self.template}: {ADDON} with demo data "
            "(about 2 min)"
        )
        started = time.monotonic()
        out = self.workspace.odoo(
            "-d",
            self.template,
            "-i",
            ADDON,
            "--stop-after-init",
            "--log-level=warn",
            f"--db-filter=^{self.template}$",
            capture_output=True,
            text=True,
            check=False,
        )
        errors = [
            line
            for line in out.stdout.splitlines() + out.stderr.splitlines()
            if " ERROR " in line
        ]
        if out.returncode or errors:
            tail = (out.stdout + out.stderr)[-4000:]
            raise RuntimeError(
                f"installing {ADDON} failed (exit {out.returncode}):\n{tail}"
            )
        log(f"template built in {time.monotonic() - started:.0f} s")
        return self.template

    def new_database(self, label: str) -> str:
        name = f"caisse_ap_bench_{self.prefix}_{label}_{self.stamp}"[:63]
        subprocess.run(["createdb", "-T", self.template, name], check=True)
        self.databases.append(name)
        source = self.workspace.data_dir / "filestore" / self.template
        target = self.workspace.data_dir / "filestore" / name
        if source.is_dir() and not target.exists():
            shutil.copytree(source, target)
        return name

    def server(self, db: str, **kwargs: Any) -> OdooServer:
        server = OdooServer(self.workspace, db, **kwargs)
        self.servers.append(server)
        return server

    def terminals(
        self, count: int, scenario: Scenario | None = None
    ) -> MultiTerminalSimulator:
        group = MultiTerminalSimulator(count, HOST, 0, scenario)
        group.start()
        self.simulators.append(group)
        return group

    def shell(self, db: str, script: str, timeout: float = 600) -> str:
        # The sub-command comes first (Workspace.odoo() puts -c before it).
        command = [
            sys.executable,
            "-m",
            "odoo",
            "shell",
            "-c",
            str(self.workspace.config),
        ]
        out = subprocess.run(
            [
                *command,
                "-d",
                db,
                f"--db-filter=^{db}$",
                "--log-level=warn",
                "--no-http",
            ],
            env=self.workspace.env(),
            input=script,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if out.returncode:
            raise RuntimeError(
                f"odoo shell failed ({out.returncode}):\n{out.stderr[-4000:]}"
            )
        return out.stdout + "\n" + out.stderr

    def cleanup(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        for group in self.simulators:
            with contextlib.suppress(Exception):
                group.stop()
        if self.keep:
            log(f"kept: {', '.join(self.databases)} and {self.workspace.path}")
            return
        for name in reversed(self.databases):
            if name == self.template and not self.own_template:
                continue
            odoo_env.drop_database(name, self.workspace.data_dir)
        self.workspace.cleanup()
        log(f"dropped {len(self.databases)} database(s) and the work folder")

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


# The lanes: one POS config, open session and payment method per terminal.
SETUP_LANES = r"""
import json
spec = json.loads(%(spec)r)
Method = env["pos.payment.method"]
Config = env["pos.config"]
Session = env["pos.session"]
company = env.ref("base.main_company")
admin = env.ref("base.user_admin")
bank = env["account.journal"].search(
    [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
)
# The simulators listen on 127.0.0.1, a loopback address refused by default.
env["ir.config_parameter"].set_param(
    "l10n_fr_pos_caisse_ap_ip.allow_local_terminals", "1"
)
lanes, missing = [], set()
for index, port in enumerate(spec["ports"]):
    values = {
        "name": "Bench Caisse-AP %%d" %% (index + 1),
        "payment_method_type": "terminal",
        "use_payment_terminal": spec["terminal_key"],
        "journal_id": bank.id,
    }
    terminal = dict(spec["method_values"])
    terminal["fr_caisse_ap_ip_address"] = "127.0.0.1"
    terminal["fr_caisse_ap_ip_port"] = port
    missing |= {key for key in terminal if key not in Method._fields}
    values.update({k: v for k, v in terminal.items() if k in Method._fields})
    method = Method.create(values)
    config = Config.create({
        "name": "Bench lane %%d" %% (index + 1),
        "payment_method_ids": [(6, 0, [method.id])],
    })
    session = Session.create({"config_id": config.id, "user_id": admin.id})
    session.set_opening_control(0, "")
    lanes.append({
        "index": index, "port": port, "method_id": method.id, "config_id": config.id,
        "session_id": session.id, "currency": config.currency_id.name,
    })
env.cr.commit()
print("BENCH_LANES " + json.dumps({"lanes": lanes, "missing": sorted(missing)}))
"""


def setup_lanes(
    bench: Bench,
    db: str,
    ports: Sequence[int],
    method_values: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Create a payment method, a POS config and an open session per terminal port."""
    spec = {
        "ports": list(ports),
        "terminal_key": TERMINAL_KEY,
        "method_values": {"fr_caisse_ap_ip_mode": "card", **(method_values or {})},
    }
    started = time.monotonic()
    out = bench.shell(db, SETUP_LANES % {"spec": json.dumps(spec)})
    for line in out.splitlines():
        if line.startswith("BENCH_LANES "):
            data = json.loads(line.split(" ", 1)[1])
            if data["missing"]:
                log(
                    "payment method fields not found (back end not there yet?): "
                    + ", ".join(data["missing"])
                )
            log(
                f"{len(data['lanes'])} lane(s) set up in "
                f"{time.monotonic() - started:.0f} s"
            )
            return data["lanes"]
    raise RuntimeError(f"lane set-up printed no result:\n{out[-4000:]}")


# -- JSON-RPC, like the POS ----------------------------------------------------
class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        data = error.get("data") or {}
        self.name = data.get("name", "")
        self.message = data.get("message") or error.get("message", "")
        super().__init__(f"{self.name}: {self.message}")


class Session:
    """An authenticated browser-like session: one new connection per request."""

    def __init__(self, port: int, db: str, timeout: float = 150.0) -> None:
        self.port = port
        self.db = db
        self.timeout = timeout
        self.cookie = ""
        self.uid: int | None = None
        self._ids = 0

    def post(self, path: str, params: dict[str, Any]) -> Any:
        self._ids += 1
        body = json.dumps(
            {"jsonrpc": "2.0", "method": "call", "params": params, "id": self._ids}
        )
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if self.cookie:
            headers["Cookie"] = f"session_id={self.cookie}"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
        try:
            conn.request("POST", path, body.encode(), headers)
            response = conn.getresponse()
            payload = response.read()
            for header, value in response.getheaders():
                if header.lower() == "set-cookie" and value.startswith("session_id="):
                    self.cookie = value.split(";", 1)[0].split("=", 1)[1]
        finally:
            conn.close()
        if response.status != 200:
            raise RpcError({"message": f"HTTP {response.status}: {payload[:200]!r}"})
        data = json.loads(payload)
        if "error" in data:
            raise RpcError(data["error"])
        return data.get("result")

    def authenticate(self, login: str = LOGIN, password: str = PASSWORD) -> Session:
        result = self.post(
            "/web/session/authenticate",
            {"db": self.db, "login": login, "password": password},
        )
        self.uid = result["uid"]
        return self

    def call(
        self,
        model: str,
        method: str,
        args: list[Any],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        return self.post(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        )

    # The three RPCs of the contract, as the POS calls them.
    def caisse_ap_start(self, method_id: int, data: dict[str, Any]) -> dict[str, Any]:
        return self.call("pos.payment.method", "caisse_ap_start", [[method_id], data])

    def caisse_ap_status(self, method_id: int, payment_uuid: str) -> dict[str, Any]:
        return self.call(
            "pos.payment.method", "caisse_ap_status", [[method_id], payment_uuid]
        )

    def caisse_ap_cancel(self, method_id: int, payment_uuid: str) -> dict[str, Any]:
        return self.call(
            "pos.payment.method", "caisse_ap_cancel", [[method_id], payment_uuid]
        )


def authenticate_many(
    port: int, db: str, count: int, parallel: int = 4
) -> list[Session]:
    """``count`` sessions, logged in ``parallel`` at a time."""
    sessions: list[Session | None] = [None] * count
    errors: list[BaseException] = []
    lock = threading.Lock()
    todo = list(range(count))

    def worker() -> None:
        while True:
            with lock:
                if not todo or errors:
                    return
                index = todo.pop()
            try:
                sessions[index] = Session(port, db).authenticate()
            except Exception as error:  # reported below
                with lock:
                    errors.append(error)

    threads = [
        threading.Thread(target=worker, daemon=True)
        for _ in range(min(parallel, count))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    if errors or any(s is None for s in sessions):
        raise RuntimeError(f"authentication failed: {errors[:1]}")
    return sessions  # type: ignore[return-value]


def payment_data(
    lane: dict[str, Any], amount: float, *, retry: bool = False
) -> dict[str, Any]:
    """The ``data`` of caisse_ap_start, as the POS front end builds it."""
    return {
        "payment_uuid": str(uuid.uuid4()),
        "order_uuid": str(uuid.uuid4()),
        "amount": amount,
        "pos_session_id": lane["session_id"],
        "retry": retry,
    }


NETWORK_ERRORS = (OSError, http.client.HTTPException)


def wait_final(
    session: Session,
    method_id: int,
    payment_uuid: str,
    *,
    timeout: float,
    interval: float = 0.1,
    slow_interval: float | None = None,
    fast_from: float | None = None,
    network_errors: list[str] | None = None,
) -> tuple[dict[str, Any] | None, float, int]:
    """Poll the status RPC until a final state: (dict or None, wall time seen, polls).

    Polls every ``slow_interval`` until the wall-clock time ``fast_from``, then
    every ``interval`` (the POS polls every second as a fallback to the bus).
    With ``network_errors``, a poll lost at the TCP level is noted there and
    polling goes on, as the POS does; otherwise it raises.
    """
    deadline = time.monotonic() + timeout
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        try:
            status = session.caisse_ap_status(method_id, payment_uuid)
        except NETWORK_ERRORS as error:
            if network_errors is None:
                raise
            network_errors.append(f"status: {type(error).__name__}: {error}")
            time.sleep(interval)
            continue
        seen = time.time()
        if status.get("final"):
            return status, seen, polls
        wait = interval
        if slow_interval and fast_from and seen < fast_from:
            wait = min(slow_interval, max(interval, fast_from - seen))
        time.sleep(wait)
    return None, time.time(), polls


def tcp_counters() -> dict[str, int]:
    """Kernel TCP counters about full listen queues (this network namespace)."""
    wanted = (
        "ListenOverflows",
        "ListenDrops",
        "TCPReqQFullDoCookies",
        "TCPReqQFullDrop",
    )
    try:
        lines = Path("/proc/net/netstat").read_text().splitlines()
    except OSError:
        return {}
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        if header.startswith("TcpExt:"):
            pairs = dict(zip(header.split()[1:], values.split()[1:], strict=False))
            return {key: int(pairs.get(key, 0)) for key in wanted}
    return {}


# -- background measurement threads -------------------------------------------
class Prober(threading.Thread):
    """An unrelated light request (read of the user's name) every ``interval`` s."""

    def __init__(
        self, session: Session, interval: float = 0.5, duration: float = 600.0
    ) -> None:
        super().__init__(name="bench-probe", daemon=True)
        self.session = session
        self.interval = interval
        self.duration = duration
        self.samples: list[
            tuple[float, float, bool]
        ] = []  # (sent wall time, seconds, ok)
        self.stopping = threading.Event()

    def once(self) -> tuple[float, float, bool]:
        sent = time.time()
        started = time.perf_counter()
        try:
            self.session.call("res.users", "read", [[self.session.uid], ["name"]])
            ok = True
        except Exception:
            ok = False
        return sent, time.perf_counter() - started, ok

    def run(self) -> None:
        end = time.monotonic() + self.duration
        next_at = time.monotonic()
        while not self.stopping.is_set() and time.monotonic() < end:
            self.samples.append(self.once())
            next_at += self.interval
            self.stopping.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)

    def between(self, start: float, end: float) -> list[float]:
        return [lat for sent, lat, ok in self.samples if ok and start <= sent < end]

    def failures_between(self, start: float, end: float) -> int:
        return sum(
            1 for sent, _lat, ok in self.samples if not ok and start <= sent < end
        )


class WorkerSampler(threading.Thread):
    """Every ``interval`` s, per Odoo process: requests in service, terminal sockets.

    An HTTP request in service is an established connection on the HTTP port
    (the server closes every connection after its answer: HTTP/1.0).
    """

    def __init__(
        self,
        server: OdooServer,
        terminal_ports: Iterable[int],
        interval: float = 0.2,
        duration: float = 900.0,
    ) -> None:
        super().__init__(name="bench-sampler", daemon=True)
        self.server = server
        self.terminal_ports = set(terminal_ports)
        self.interval = interval
        self.duration = duration
        self.samples: list[dict[str, Any]] = []
        self.pg_samples: list[tuple[float, int]] = []  # (time, connections), every 1 s
        self.stopping = threading.Event()

    def sample(self) -> dict[str, Any]:
        at = time.time()
        busy_workers = 0
        in_service = 0
        terminal_sockets: dict[str, int] = {}
        running = 0
        http_threads = 0
        http_vms = 0
        busy_pids = []
        for kind, procs in self.server.processes_by_kind().items():
            for proc in procs:
                try:
                    conns = _connections(proc)
                    state = proc.status()
                except psutil.Error:
                    continue
                serving = sum(
                    1
                    for c in conns
                    if c.status == psutil.CONN_ESTABLISHED
                    and c.laddr
                    and c.laddr.port == self.server.http_port
                )
                to_terminals = sum(
                    1
                    for c in conns
                    if c.status == psutil.CONN_ESTABLISHED
                    and c.raddr
                    and c.raddr.port in self.terminal_ports
                )
                if kind == "http":
                    in_service += serving
                    busy_workers += 1 if serving else 0
                    running += 1 if state == psutil.STATUS_RUNNING else 0
                    with contextlib.suppress(psutil.Error):
                        http_threads += proc.num_threads()
                        # Odoo's limit_memory_soft/hard apply to this (virtual size).
                        http_vms = max(http_vms, proc.memory_info().vms)
                    if serving:
                        busy_pids.append(proc.pid)
                if to_terminals:
                    terminal_sockets[kind] = (
                        terminal_sockets.get(kind, 0) + to_terminals
                    )
        return {
            "at": at,
            "busy_workers": busy_workers,
            "in_service": in_service,
            "running": running,
            "terminal_sockets": terminal_sockets,
            "http_threads": http_threads,
            "http_vms": http_vms,
            "busy_pids": busy_pids,
        }

    def run(self) -> None:
        end = time.monotonic() + self.duration
        next_pg = 0.0
        while not self.stopping.is_set() and time.monotonic() < end:
            self.samples.append(self.sample())
            if time.monotonic() >= next_pg:
                next_pg = time.monotonic() + 1.0
                self.pg_samples.append((time.time(), pg_connections(self.server.db)))
            self.stopping.wait(self.interval)

    def pg_max(self, start: float, end: float) -> int:
        return max((n for at, n in self.pg_samples if start <= at < end), default=0)

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)

    def between(self, start: float, end: float) -> list[dict[str, Any]]:
        return [s for s in self.samples if start <= s["at"] < end]

    def longest_busy(self, start: float, end: float) -> float:
        """Longest time one HTTP worker was seen serving without a break (s)."""
        longest = 0.0
        since: dict[int, float] = {}
        for sample in self.between(start, end):
            busy = set(sample["busy_pids"])
            for pid in list(since):
                if pid not in busy:
                    longest = max(longest, sample["at"] - since.pop(pid))
            for pid in busy:
                since.setdefault(pid, sample["at"])
        for first in since.values():
            longest = max(longest, end - first)
        return longest


# -- command line ---------------------------------------------------------------
def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--template",
        default="",
        help="reuse this database (addon installed, demo data) as the template "
        "instead of building one; it is never dropped",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the databases and the work folder for inspection",
    )
    parser.add_argument(
        "--no-write",
        action="store_true",
        help="print the tables only (do not write bench/results/ nor bench/README.md)",
    )
    return parser


def run_main(main: Callable[[], int]) -> None:
    """Exit with main()'s code; Ctrl-C and SIGTERM still clean up (finally blocks)."""

    def on_term(*_args: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        code = main()
    except KeyboardInterrupt:
        log("interrupted")
        code = 130
    sys.exit(code)
