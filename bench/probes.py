"""Measurements taken while a benchmark runs, in background threads.

The Prober times an unrelated light request; the WorkerSampler watches what
each Odoo process is doing; tcp_counters reads the kernel's listen-queue drops.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psutil
from odoo_server import OdooServer, pg_connections, tcp_connections
from reports import longest_gap
from rpc import Session


def tcp_counters() -> dict[str, int]:
    """Kernel TCP counters about full listen queues (this network namespace)."""
    wanted = "ListenOverflows ListenDrops TCPReqQFullDoCookies TCPReqQFullDrop".split()
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
        # (sent wall time, seconds, ok)
        self.samples: list[tuple[float, float, bool]] = []
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

    def longest_silence(self, start: float, end: float) -> float:
        """Longest time (s) within [start, end] in which no probe got an answer."""
        answered = [sent + lat for sent, lat, ok in self.samples if ok]
        return longest_gap(answered, start, end)


class WorkerSampler(threading.Thread):
    """Every ``interval`` s, per Odoo process: requests in service (established
    connections on the HTTP port: Odoo answers HTTP/1.0), terminal sockets."""

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
        busy_workers = in_service = running = http_threads = http_vms = 0
        terminal_sockets: dict[str, int] = {}
        busy_pids = []
        http, terminals = self.server.http_port, self.terminal_ports
        for kind, procs in self.server.processes_by_kind().items():
            for proc in procs:
                try:
                    conns = tcp_connections(proc)
                    state = proc.status()
                except psutil.Error:
                    continue
                open_ = [c for c in conns if c.status == psutil.CONN_ESTABLISHED]
                serving = sum(1 for c in open_ if c.laddr and c.laddr.port == http)
                to_terminals = sum(
                    1 for c in open_ if c.raddr and c.raddr.port in terminals
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

    def busy_stretches(self, start: float, end: float) -> dict[int, float]:
        """Per HTTP worker pid, the longest time it was seen serving without a
        break (s); workers never seen serving are left out."""
        longest: dict[int, float] = {}
        since: dict[int, float] = {}

        def close(pid: int, at: float) -> None:
            longest[pid] = max(longest.get(pid, 0.0), at - since.pop(pid))

        for sample in self.between(start, end):
            busy = set(sample["busy_pids"])
            for pid in list(since):
                if pid not in busy:
                    close(pid, sample["at"])
            for pid in busy:
                since.setdefault(pid, sample["at"])
        for pid in list(since):
            close(pid, end)
        return longest

    def longest_busy(self, start: float, end: float) -> float:
        """Longest time one HTTP worker was seen serving without a break (s)."""
        return max(self.busy_stretches(start, end).values(), default=0.0)


def warm_session(server: OdooServer, timeout: float = 150.0) -> Session:
    """The probe's session, after 3 s of quick reads: both HTTP workers have
    loaded the registry before anything is measured."""
    session = Session(server.http_port, server.db, timeout).authenticate()
    Prober(session, 0.05, 3.0).run()
    return session


def start_watching(
    server: OdooServer,
    session: Session,
    terminal_ports: Iterable[int],
    args: Any,
    horizon: float,
) -> tuple[Prober, WorkerSampler, float]:
    """Start the probe and the sampler, then let ``args.idle`` s of reference
    pass (the options of ``common.probing``): (probe, sampler, when the idle
    reference began)."""
    probe = Prober(session, args.probe_interval, horizon)
    sampler = WorkerSampler(server, terminal_ports, 0.2, horizon)
    idle_start = time.time()
    probe.start()
    sampler.start()
    time.sleep(args.idle)
    return probe, sampler, idle_start
