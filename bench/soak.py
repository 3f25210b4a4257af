"""Soak: 1,000 sequential payments on a real prefork Odoo server; no leak, no failure.

Every tenth payment declined, every tenth partial; fds, threads, RSS and
PG connections read every 100 payments. Goals: bench/README.md.

Small run: python3 bench/soak.py --payments 100
"""

from __future__ import annotations

import time
from typing import Any

import common as c

FDS_NOISE = 10
THREADS_NOISE = 1
PG_NOISE = 2
RSS_NOISE_BYTES = 32 * 1048576
RSS_NOISE_RATIO = 0.05


OPTIONS = (
    ("--payments", 1000, "payments"),
    c.customer_delay(0.0),
    ("--warmup", 20, "payments before the first reading"),
    (
        "--warmup-seconds",
        75.0,
        "first reading no sooner than this after the server started, so that "
        "the cron worker (it wakes every 60-70 s) made its first pass",
    ),
    ("--poll", 0.05, "status poll interval"),
    ("--settle", 5.0, "quiet seconds before the last reading"),
    ("--every", 100, "reading every N payments"),
)


def expected_for(index: int) -> tuple[str, str]:
    """(simulator scenario, expected state) of payment number ``index``."""
    if index % 10 == 8:
        return "decline", "failure"
    if index % 10 == 9:
        return "partial", "success"
    return "approve", "success"


def reading(server: c.OdooServer, db: str, done: int) -> dict[str, Any]:
    resources = server.resources()
    return {
        "payments": done,
        "at": time.time(),
        **resources["total"],
        "per_kind": resources["per_kind"],
        "pg": c.pg_connections(db),
    }


def pay(session, lane, terminal, index, args) -> tuple[str, float]:
    """'' or what went wrong, and the seconds from start to visible outcome."""
    kind, expected = expected_for(index)
    terminal.queue(c.Scenario(kind, delay=args.delay))
    data = c.payment_data(lane, round(5 + (index % 97) / 100, 2))
    started = time.perf_counter()
    try:
        final = c.pay(session, lane, data, timeout=args.delay + 60, interval=args.poll)
    except Exception as error:  # counted as a failure
        return f"#{index}: {type(error).__name__}: {error}", 0.0
    elapsed = time.perf_counter() - started
    if final is None:
        return f"#{index}: no outcome within {args.delay + 60:.0f} s", elapsed
    if final["state"] != expected:
        return f"#{index} ({kind}): {final['state']}: {final['message']}", elapsed
    return "", elapsed


def measure(args) -> dict[str, Any]:
    """Warm up, then pay ``args.payments`` times, reading the server's resources."""
    failures: list[str] = []
    durations: list[float] = []
    readings: list[dict[str, Any]] = []
    with c.Bench("soak", args.template, args.keep) as bench:
        db, terminals, (lane,) = bench.new_lanes("soak", 1)
        terminal = terminals[0]
        server = bench.server(db)
        server_started = time.monotonic()
        session = c.Session(server.http_port, db).authenticate()
        c.log(f"warm-up: {args.warmup} payments")
        for index in range(args.warmup):
            problem, _elapsed = pay(session, lane, terminal, index, args)
            if problem:
                failures.append(f"warm-up {problem}")
        time.sleep(
            max(args.settle, server_started + args.warmup_seconds - time.monotonic())
        )
        readings.append(reading(server, db, 0))
        errors_before = len(server.log_lines(" ERROR ", " CRITICAL "))
        requests_before = len(terminal.exchanges)
        started = time.time()
        for number in range(1, args.payments + 1):
            index = args.warmup + number - 1
            problem, elapsed = pay(session, lane, terminal, index, args)
            durations.append(elapsed)
            if problem:
                failures.append(problem)
                c.log(f"failure {problem}")
            if number % args.every == 0 and number < args.payments:
                readings.append(reading(server, db, number))
                c.log(
                    f"{number} payments, {len(failures)} failure(s), "
                    f"fds {readings[-1]['fds']} threads {readings[-1]['threads']} "
                    f"rss {c.mib(readings[-1]['rss'])} MiB"
                )
        wall = time.time() - started
        terminal.wait_for_exchanges(requests_before + args.payments, 10)
        requests = len(terminal.exchanges) - requests_before
        time.sleep(args.settle)
        readings.append(reading(server, db, args.payments))
        errors = server.log_lines(" ERROR ", " CRITICAL ")[errors_before:]
        server.stop()
    return {
        "failures": failures,
        "durations": durations,
        "readings": readings,
        "requests": requests,
        "wall": wall,
        "errors": errors,
    }


def report(args, m: dict[str, Any]) -> c.Report:
    failures, readings, requests = m["failures"], m["readings"], m["requests"]
    errors = m["errors"]
    first, last = readings[0], readings[-1]
    rep = c.Report("soak", "Soak (bench/soak.py)")
    rep.note(
        f"{args.payments} sequential payments after {args.warmup} warm-up ones "
        f"(first reading {args.warmup_seconds:g} s or more after the server started, "
        "once the cron worker made its first pass), "
        f"customer delay {args.delay:g} s, status polled every {args.poll:g} s; "
        "80 % approved, 10 % declined, 10 % partially approved. Prefork Odoo "
        "(`--workers=2 --max-cron-threads=1`). Readings summed over the Odoo "
        f"processes from /proc; the last one after {args.settle:g} s of quiet."
    )
    count, p50, p95, top = c.summary_ms(m["durations"])
    rep.table(
        "payments | failures | terminal requests"
        " | start → outcome visible, p50 / p95 / max (ms) | payments per second"
        " | Odoo ERROR lines",
        [
            (
                count,
                len(failures),
                requests,
                f"{p50} / {p95} / {top}",
                f"{args.payments / m['wall']:.1f}",
                len(errors),
            )
        ],
        "Payments",
    )
    rep.table(
        ("after payments", "open fds", "threads", "RSS (MiB)", "PG connections"),
        [
            (r["payments"], r["fds"], r["threads"], c.mib(r["rss"]), r["pg"])
            for r in readings
        ],
        "Server resources (all Odoo processes)",
    )
    kinds = sorted(set(first["per_kind"]) | set(last["per_kind"]))
    rep.table(
        ("process", "processes", "fds start → end", "threads", "RSS (MiB)"),
        [
            (
                kind,
                last["per_kind"].get(kind, {}).get("processes", 0),
                _arrow(first, last, kind, "fds"),
                _arrow(first, last, kind, "threads"),
                _arrow(first, last, kind, "rss", c.mib),
            )
            for kind in kinds
        ],
        "Per process kind, start → end",
    )
    if failures:
        rep.note("Failures (first 10): " + "; ".join(failures[:10]))
    if errors:
        rep.note("First Odoo ERROR line: `" + errors[0][-300:] + "`")
    _checks(rep, args, m)
    return rep


def _checks(rep: c.Report, args, m: dict[str, Any]) -> None:
    first, last = m["readings"][0], m["readings"][-1]
    failures, requests, errors = m["failures"], m["requests"], m["errors"]
    rss_limit = max(RSS_NOISE_BYTES, RSS_NOISE_RATIO * first["rss"])
    rep.check(
        "0 failures",
        not failures and requests == args.payments,
        f"{len(failures)} failure(s), {requests} requests for {args.payments}",
    )
    rep.check(
        f"threads back to start (+{THREADS_NOISE})",
        last["threads"] <= first["threads"] + THREADS_NOISE,
        f"{first['threads']} → {last['threads']}",
    )
    rep.check(
        f"open fds within +{FDS_NOISE}",
        last["fds"] <= first["fds"] + FDS_NOISE,
        f"{first['fds']} → {last['fds']}",
    )
    rep.check(
        f"PostgreSQL connections within +{PG_NOISE}",
        last["pg"] <= first["pg"] + PG_NOISE,
        f"{first['pg']} → {last['pg']}",
    )
    rep.check(
        f"RSS within +{c.mib(rss_limit)} MiB",
        last["rss"] - first["rss"] <= rss_limit,
        f"{c.mib(first['rss'])} → {c.mib(last['rss'])} MiB "
        f"({(last['rss'] - first['rss']) / 1048576:+.1f})",
    )
    rep.check("no ERROR in the Odoo log", not errors, f"{len(errors)} line(s)")


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    return report(args, measure(args)).save(write=not args.no_write)


def _arrow(first, last, kind, key, fmt=str) -> str:
    start = first["per_kind"].get(kind, {}).get(key, 0)
    end = last["per_kind"].get(kind, {}).get(key, 0)
    return f"{fmt(start)} → {fmt(end)}"


if __name__ == "__main__":
    c.run_main(main)
