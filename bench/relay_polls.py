"""Many shop relays' long polls against a threaded Odoo with a small pool.

Held polls must not keep their database connection (db_maxconn=16) while a
probe reads; goals: bench/README.md.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import common as c

from caisse_ap import relay as relay_module
from caisse_ap import relay_wire

OPTIONS = (
    ("--relays", 10, "relays"),
    ("--polls-per-relay", 10, "polls each relay keeps waiting"),
    ("--seconds", 40.0, "measured seconds"),
    ("--db-maxconn", 16, "Odoo's db_maxconn"),
    ("--wait", 20.0, "each poll's wait, seconds"),
    (
        "--addon-dir",
        None,
        "install this folder as the addon instead of this repository (e.g. "
        "a worktree of an older commit, to measure it the same way)",
    ),
    ("--name", "relay_polls", "results file name (bench/results/)"),
)


class Poller(threading.Thread):
    """One relay's poll loop, as the relay program runs it."""

    def __init__(self, port: int, token: str, wait: float, until: float) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.wait, self.until = port, token, wait, until
        self.answers: list[tuple[int, float]] = []  # (status, seconds)

    def run(self) -> None:
        body = json.dumps({"wait": self.wait, "version": "bench", "protocol": 2})
        # Relays started independently: not all in the same millisecond.
        time.sleep(random.uniform(0, 2))
        while time.monotonic() < self.until:
            started = time.monotonic()
            try:
                connection = http.client.HTTPConnection(
                    c.HOST, self.port, timeout=self.wait + 30
                )
                connection.request(
                    "POST",
                    relay_wire.PATH_POLL,
                    body,
                    {"Authorization": f"Bearer {self.token}"},
                )
                response = connection.getresponse()
                status = response.status
                answer = json.loads(response.read() or b"{}")
                connection.close()
            except (OSError, ValueError):
                status, answer = 0, {}
            took = time.monotonic() - started
            self.answers.append((status, took))
            if took < 1.0:  # as the relay program does
                pause = max(1.0, relay_module.retry_after(answer))
                time.sleep(relay_module.interval_pause(pause))


def measure(args, server: c.OdooServer, tokens: list[str]) -> dict[str, Any]:
    session = c.Session(server.http_port, server.db).authenticate()
    prober = c.Prober(session, interval=0.1, duration=args.seconds + 30)
    prober.start()
    time.sleep(5)
    quiet_end = time.time()
    until = time.monotonic() + args.seconds
    pollers = [
        Poller(server.http_port, token, args.wait, until)
        for token in tokens
        for _ in range(args.polls_per_relay)
    ]
    storm_start = time.time()
    pg_most = 0
    for poller in pollers:
        poller.start()
    while time.monotonic() < until:
        pg_most = max(pg_most, c.pg_connections(server.db))
        time.sleep(1)
    storm_end = time.time()
    for poller in pollers:
        poller.join(args.wait + 40)
    prober.stop()
    answers = [answer for poller in pollers for answer in poller.answers]
    held = [took for status, took in answers if status == 200 and took >= 1.0]
    return {
        "quiet": prober.between(storm_start - 5, quiet_end),
        "storm": prober.between(storm_start, storm_end),
        "probe_failures": prober.failures_between(storm_start, storm_end),
        "polls": len(answers),
        "statuses": sorted({status for status, _took in answers}),
        "failed_polls": sum(1 for status, _took in answers if status != 200),
        "held": len(held),
        "pg_most": pg_most,
        "pool_full": len(server.log_lines("Connection Pool Is Full")),
        "errors": len(server.log_lines(" ERROR ")),
    }


def report(args, run: dict[str, Any]) -> c.Report:
    title = "Shop relays' long polls on a threaded Odoo with a small pool"
    if args.addon_dir:
        title += f" ({args.addon_dir.name})"
    rep = c.Report(args.name, title)
    rep.note(
        f"{args.relays} relays x {args.polls_per_relay} polls at once for "
        f"{args.seconds:.0f} s (wait {args.wait:.0f} s, 1 s between early answers), "
        f"Odoo threaded (`--workers=0`), `db_maxconn={args.db_maxconn}`; a probe "
        "(read of the user's name) every 100 ms."
    )
    quiet, storm = c.summary_ms(run["quiet"]), c.summary_ms(run["storm"])
    rep.table(
        ("probe", "n", "p50", "p95", "max"),
        [("before the polls", *quiet), ("during the polls", *storm)],
    )
    rep.table(
        "polls answered | held (>= 1 s) | failed | statuses"
        " | PostgreSQL connections (most) | pool full | errors in the log",
        [
            (
                run["polls"],
                run["held"],
                run["failed_polls"],
                ", ".join(map(str, run["statuses"])),
                run["pg_most"],
                run["pool_full"],
                run["errors"],
            )
        ],
    )
    p95 = c.percentile(run["storm"], 0.95)
    rep.check("probe p95 < 250 ms during the polls", p95 < 0.25, c.ms(p95))
    rep.check(
        "no probe and no poll failed",
        run["probe_failures"] == 0 and run["failed_polls"] == 0,
        f"{run['probe_failures']} probes, {run['failed_polls']} polls",
    )
    rep.check("the pool is never full", run["pool_full"] == 0, str(run["pool_full"]))
    rep.check("polls were held (long polling works)", run["held"] > 0, str(run["held"]))
    return rep


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    args.addon_dir = Path(args.addon_dir) if args.addon_dir else None
    with c.Bench("polls", args.template, args.keep, addon_dir=args.addon_dir) as bench:
        db = bench.new_database("polls")
        tokens = [r["token"] for r in c.setup_relays(bench, db, [], args.relays)]
        maxconn = [f"--db_maxconn={args.db_maxconn}"]
        server = bench.server(db, workers=0, extra_args=maxconn)
        run = measure(args, server, tokens)
    return report(args, run).save(write=not args.no_write)


if __name__ == "__main__":
    c.run_main(main)
