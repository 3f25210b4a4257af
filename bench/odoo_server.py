"""A real Odoo server in prefork mode for the benchmarks, and what it is doing.

Started in its own process group (stopped or killed as one), on free local
ports; its processes, resources, log and access times can be read while it runs.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psutil
from settings import HOST, REPO, log, prerequisites


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


def tcp_connections(proc: psutil.Process) -> list[Any]:
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
        workspace: prerequisites.Workspace,
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


class RelayProcess:
    """One shop relay program (``python -m caisse_ap.relay``); its log in a file."""

    def __init__(self, url: str, token: str, folder: Path, *options: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "relay.log"
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "caisse_ap.relay", "--server", url, *options]
            + ["--state-dir", str(folder / "state")],
            cwd=REPO,
            env=dict(os.environ, CAISSE_AP_RELAY_TOKEN=token),
            stdout=subprocess.DEVNULL,
            stderr=open(self.log_path, "w"),  # noqa: SIM115
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def listening(self) -> bool:
        return "listening on Odoo's bus" in self.log()

    def wait_until(self, ready: Callable[[], Any], what: str) -> None:
        deadline = time.monotonic() + 60
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the shop relay did not {what} in time")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(60)


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


def psql(db: str, query: str, *options: str, check: bool = False) -> str:
    """What ``psql`` prints for ``query``: rows only, unaligned."""
    command = ["psql", "-d", db, "-tA", *options, "-c", query]
    return subprocess.run(command, capture_output=True, text=True, check=check).stdout


def pg_connections(db: str) -> int:
    query = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}'"
    return int(psql("postgres", query).strip() or -1)
