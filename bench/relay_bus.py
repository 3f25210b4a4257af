"""The shop relay on Odoo.sh's layout: woken by the bus, nearly free when idle.

Start → terminal latency through one relay, then the cost of idle relays,
with the bus routed and refused by the front proxy; goals and tables:
bench/README.md.

Small run: python3 bench/relay_bus.py --rounds 5 --idle-minutes 2
"""

from __future__ import annotations

import os
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import common as c
from front import FrontProxy
from odoo_server import ACCESS_LINE

LATENCY_GOAL = 0.300  # seconds, start → terminal p95
WORKER_SHARE_GOAL = 0.01  # of one worker, 10 idle relays
REQUESTS_GOAL = 1.0  # HTTP requests per relay per minute, idle
SHOPS = 10

OPTIONS = (
    ("--tills", "1,10", "comma-separated numbers of tills of the shop, one run each"),
    ("--rounds", 20, "rounds of payments per number of tills and mode"),
    (
        "--idle-minutes",
        10.0,
        "minutes of each idle run with the bus (1, 10 relays; 0: none)",
    ),
    (
        "--refused-minutes",
        2.0,
        "minutes of the idle run with the bus refused (0: none)",
    ),
    ("--name", "relay_bus", "results file name (bench/results/)"),
)


class LoadWatch(threading.Thread):
    """The machine's 1-minute load average, every 5 s, while the bench runs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(5):
            self.samples.append(os.getloadavg()[0])


def start_relays(url: str, relays, folder: Path, bus: bool) -> list[c.RelayProcess]:
    processes = [
        c.RelayProcess(url, relay["token"], folder / str(relay["id"]))
        for relay in relays
    ]
    for process in processes if bus else ():
        process.wait_until(process.listening, "listen on the bus")
    time.sleep(2)  # their first polls
    return processes


def pay_round(sessions, lanes, terminals, amount_cents: int) -> list[dict[str, Any]]:
    """Every till clicks at once; back when each payment is over."""
    seen = [len(terminals[lane["index"]].exchanges) for lane in lanes]

    def till(lane, session, barrier: threading.Barrier, result: dict) -> None:
        data = c.payment_data(lane, amount_cents / 100)
        barrier.wait()
        result["sent"] = time.time()
        try:
            # Polled at the POS's pace while a payment is pending.
            final = c.pay(session, lane, data, timeout=60, interval=1.0)
            result["state"] = (final or {}).get("state")
        except c.RpcError as error:
            result["state"] = f"error: {error}"

    results: list[dict[str, Any]] = [{} for _ in lanes]
    payers = [partial(till, *pair) for pair in zip(lanes, sessions, strict=True)]
    c.pay_together(payers, results, 120)
    for position, lane in enumerate(lanes):
        exchanges = terminals[lane["index"]].exchanges
        if len(exchanges) > seen[position]:
            received = exchanges[seen[position]]["received_at"]
            results[position]["click_terminal"] = received - results[position]["sent"]
    return results


def latency_run(server, proxy, relays, lanes, terminals, tills, bus, args, folder):
    proxy.bus = bus
    mode = "bus" if bus else "bus refused"
    c.log(f"=== start → terminal, {tills} till(s), {mode} ===")
    processes = start_relays(proxy.url, relays[:1], folder / f"lat{tills}{bus}", bus)
    try:
        sessions = c.authenticate_many(server.http_port, server.db, tills)
        results: list[dict[str, Any]] = []
        for number in range(args.rounds):
            results += pay_round(sessions, lanes[:tills], terminals, 1000 + number)
            time.sleep(1.5)  # not in step with the relay's polls
        if bus and not processes[0].listening():
            raise RuntimeError("the relay stopped listening on the bus")
    finally:
        for process in processes:
            process.stop()
    return {
        "tills": tills,
        "mode": mode,
        "payments": len(results),
        "success": sum(1 for r in results if r.get("state") == "success"),
        "click_terminal": [
            r["click_terminal"] for r in results if "click_terminal" in r
        ],
    }


def relay_lines(lines: list[str]) -> list[tuple[str, int, float]]:
    """(endpoint, queries, worker seconds) of the relay requests in ``lines``."""
    found = []
    for line in lines:
        match = ACCESS_LINE.search(line)
        if match and match.group(1).startswith("/caisse_ap/relay/"):
            seconds = float(match.group(4)) + float(match.group(5))
            found.append((match.group(1), int(match.group(3)), seconds))
    return found


def bus_cpu(server) -> float:
    """CPU seconds used so far by the bus (gevent) process."""
    total = 0.0
    for proc in server.processes_by_kind().get("gevent", []):
        times = proc.cpu_times()
        total += times.user + times.system
    return total


def idle_run(server, proxy, relays, count, minutes, bus, folder) -> dict[str, Any]:
    proxy.bus = bus
    mode = "bus" if bus else "bus refused"
    c.log(f"=== idle: {count} relay(s), {minutes:g} min, {mode} ===")
    processes = start_relays(
        proxy.url, relays[:count], folder / f"idle{count}{bus}", bus
    )
    try:
        start_line = len(server.log_lines())
        cpu_before = bus_cpu(server)
        loads = []
        until = time.monotonic() + minutes * 60
        while time.monotonic() < until:
            loads.append(os.getloadavg()[0])
            time.sleep(min(10, max(until - time.monotonic(), 0)))
        cpu = bus_cpu(server) - cpu_before
        lines = relay_lines(server.log_lines(start=start_line))
        still = sum(1 for p in processes if p.listening()) if bus else 0
    finally:
        for process in processes:
            process.stop()
    return {
        "relays": count,
        "mode": mode,
        "minutes": minutes,
        "requests": len(lines),
        "queries": sum(q for _path, q, _s in lines),
        "worker_seconds": sum(s for _path, _q, s in lines),
        "bus_cpu": cpu,
        "listening": still,
        "load_max": max(loads, default=0.0),
    }


def report(args, latency, idle, load: LoadWatch) -> c.Report:
    rep = c.Report(
        args.name, "Shop relays woken by Odoo's bus (prefork, routing proxy)"
    )
    rep.note(
        "Prefork Odoo (`--workers=2`) behind a front proxy routing `/websocket` to its "
        "bus process (or refusing it); relays are `python -m caisse_ap.relay` "
        f"towards the proxy. Start → terminal: {args.rounds} rounds in which every "
        "till of one shop (one relay) clicks at once. The machine's load (1 min) "
        f"during the run: at most {max(load.samples, default=0.0):.2f}."
    )
    rep.table(
        "tills | wake-up | payments | success | start → terminal p50 | p95 | max",
        [
            (
                run["tills"],
                run["mode"],
                run["payments"],
                run["success"],
                *c.summary_ms(run["click_terminal"])[1:],
            )
            for run in latency
        ],
    )
    rep.table(
        "relays | wake-up | minutes | HTTP requests / relay / min"
        " | queries / min (all) | worker ms / min (all) | share of one worker"
        " | bus process CPU ms / min | load (1 min, max)",
        [idle_row(run) for run in idle],
    )
    goals(rep, latency, idle)
    return rep


def idle_row(run: dict[str, Any]) -> tuple[Any, ...]:
    minutes = run["minutes"]
    return (
        run["relays"],
        run["mode"],
        f"{minutes:g}",
        f"{run['requests'] / (run['relays'] * minutes):.2f}",
        f"{run['queries'] / minutes:.1f}",
        f"{run['worker_seconds'] / minutes * 1000:.1f}",
        f"{run['worker_seconds'] / minutes / 60 * 100:.3f} %",
        f"{run['bus_cpu'] / minutes * 1000:.0f}",
        f"{run['load_max']:.2f}",
    )


def goals(rep: c.Report, latency, idle) -> None:
    for run in latency:
        if run["mode"] == "bus":
            p95 = c.percentile(run["click_terminal"], 0.95)
            rep.check(
                f"start → terminal p95 < 300 ms at {run['tills']} till(s), bus",
                p95 < LATENCY_GOAL,
                c.ms(p95),
            )
        rep.check(
            f"every payment succeeds at {run['tills']} till(s), {run['mode']}",
            run["success"] == run["payments"],
            f"{run['success']}/{run['payments']}",
        )
    for run in idle:
        if run["mode"] != "bus":
            continue
        requests = run["requests"] / (run["relays"] * run["minutes"])
        rep.check(
            f"≤ 1 HTTP request per relay per minute, {run['relays']} idle relay(s)",
            requests <= REQUESTS_GOAL,
            f"{requests:.2f}",
        )
        if run["relays"] >= SHOPS:
            share = run["worker_seconds"] / run["minutes"] / 60
            rep.check(
                f"{run['relays']} idle relays cost < 1 % of one worker",
                share < WORKER_SHARE_GOAL,
                f"{share * 100:.3f} %",
            )


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    counts = [int(n) for n in args.tills.split(",")]
    with c.Bench("relaybus", args.template, args.keep) as bench:
        db = bench.new_database("relaybus")
        terminals = bench.terminals(max(counts), c.Scenario("approve", delay=0.2))
        lanes = c.setup_lanes(bench, db, terminals.ports)
        relays = c.setup_relays(bench, db, lanes, SHOPS)
        server = bench.server(db)
        proxy = FrontProxy(server.http_port, server.gevent_port)
        proxy.start()
        folder = bench.workspace.path / "relays"
        load = LoadWatch()
        load.start()
        try:
            latency = [
                latency_run(
                    server, proxy, relays, lanes, terminals, n, bus, args, folder
                )
                for bus in (True, False)
                for n in counts
            ]
            idle = [
                idle_run(server, proxy, relays, n, args.idle_minutes, True, folder)
                for n in (1, SHOPS)
                if args.idle_minutes > 0
            ]
            if args.refused_minutes > 0:
                idle.append(
                    idle_run(
                        server, proxy, relays, 1, args.refused_minutes, False, folder
                    )
                )
        finally:
            load.done.set()
            proxy.stop()
    rep = report(args, latency, idle, load)
    rep.save(write=not args.no_write)
    return 0 if rep.ok else 1


if __name__ == "__main__":
    c.run_main(main)
