"""Lanes benchmark: N tills pay together on a real prefork Odoo server.

Storm or Poisson clicks, status polls at the POS's pace, a probe, a /proc
sampler; set-up, goals and tables: bench/README.md.

Small run: python3 bench/lanes.py --lanes 1,3 --delay 5
Realistic arrivals: python3 bench/lanes.py --lanes 100 --arrivals poisson
"""

from __future__ import annotations

import os
import random
import threading
import time
from functools import partial
from typing import Any

import common as c

PROBE_GOAL = 0.250  # seconds, probe p95 at --storm lanes
CLICK_GOAL = 0.300  # seconds, click → terminal p95 at --storm lanes, Poisson arrivals
# Server time (p95) of a start and of a status, at most these times the plain read's.
START_COST_GOAL = 2.0
STATUS_COST_GOAL = 1.5
POLLS_PER_MINUTE_GOAL = 15
BUSY_GOAL = 5.0  # seconds: a worker held for a payment would show the whole delay
# Like the POS (static/src/app/payment_caisse_ap_ip.js, START_RETRY_DELAYS): after a
# network error the start is sent again after these delays (s, +-30 %), then the
# cashier is told. Same payment uuid and start key: the server never sends twice.
START_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0)
# The lanes' payment methods keep the default payment timeout: the POS polls
# at its bus-up pace until then.
METHOD_TIMEOUT = 180
JOURNAL = "pos.caisse.ap.transaction"
FINAL = ["state", "in", c.FINAL_STATES]  # as caisse_ap_status reports it


OPTIONS = (
    ("--lanes", "1,10,100,200", "comma-separated numbers of lanes, one run each"),
    ("--storm", 100, "the N whose probe, queue and server-time goals count"),
    c.customer_delay(20.0),
    (
        "--arrivals",
        "storm",
        "storm: every cashier clicks at the same instant; poisson: the clicks "
        "are a Poisson process over --arrival-window",
        ("storm", "poisson"),
    ),
    (
        "--arrival-window",
        20.0,
        "with --arrivals poisson: N clicks per this many seconds on average",
    ),
    *c.till_polls(1.0, 6.0),
    (
        "--observe",
        0.1,
        "interval in seconds of the one reader that times when outcomes become "
        "visible (one search_read for all the lanes)",
    ),
    *c.probing(10.0),
    (
        "--relay",
        False,
        "every lane's terminal through ONE shop relay process (python -m "
        "caisse_ap.relay), as on Odoo.sh; results in bench/results/lanes_relay.md",
    ),
)


def start_with_retries(start, errors: list[str]):
    """``start()``, sent again after each network error (listed in ``errors``)
    like the POS and the kiosk's page; past the last delay the error is raised."""
    for attempt in range(len(START_RETRY_DELAYS) + 1):
        try:
            return start()
        except c.NETWORK_ERRORS as error:
            errors.append(f"start: {type(error).__name__}: {error}")
            if attempt == len(START_RETRY_DELAYS):
                raise
            time.sleep(START_RETRY_DELAYS[attempt] * random.uniform(0.7, 1.3))
    raise AssertionError("unreachable")


def run_lane(
    lane: dict[str, Any],
    session: c.Session,
    args,
    barrier: threading.Barrier,
    result: dict[str, Any],
) -> None:
    result["network_errors"] = errors = []
    try:
        barrier.wait(timeout=120)
        data = c.payment_data(lane, lane["amount"])
        result["uuid"] = data["payment_uuid"]
        # Poisson arrivals: this cashier clicks that long after the storm began.
        time.sleep(lane.get("arrival", 0.0))
        result["sent"] = time.time()
        try:
            first = start_with_retries(
                lambda: session.caisse_ap_start(lane["method_id"], data), errors
            )
        except c.NETWORK_ERRORS:
            result["cashier_error"] = True  # the POS would show it now
            raise
        result["started"] = time.time()
        result["first"] = first
        if first.get("final"):
            result["final"], result["seen"], result["polls"] = first, time.time(), 0
            return
        final, seen, polls = c.wait_final(
            session,
            lane["method_id"],
            data["payment_uuid"],
            timeout=args.delay + 120,
            interval=args.poll,
            slow_interval=args.bus_poll or None,
            fast_from=result["started"] + METHOD_TIMEOUT,
            network_errors=errors,
        )
        result.update(final=final, seen=seen, polls=polls)
        result["polls_per_minute"] = 60 * polls / max(seen - result["started"], 1.0)
    except Exception as error:  # reported in the table
        result["error"] = f"{type(error).__name__}: {error}"


class Observer(threading.Thread):
    """One reader for all lanes (not a status poll each, ten times the POS's
    load): when does each outcome become visible in the journal?"""

    def __init__(self, session: c.Session, results, interval: float, duration: float):
        super().__init__(name="bench-observer", daemon=True)
        self.session = session
        self.results = results
        self.interval = interval
        self.duration = duration
        self.visible: dict[str, float] = {}
        self.errors = 0
        self.last_error = ""
        self.stopping = threading.Event()

    def run(self) -> None:
        end = time.monotonic() + self.duration
        while not self.stopping.is_set() and time.monotonic() < end:
            uuids = [r.get("uuid") for r in self.results]
            if all(uuids) and all(u in self.visible for u in uuids):
                return
            uuids = [u for u in uuids if u and u not in self.visible]
            if uuids:
                domain = [["payment_uuid", "in", uuids], FINAL]
                fields = {"fields": ["payment_uuid"]}
                try:
                    rows = self.session.call(JOURNAL, "search_read", [domain], fields)
                except Exception as error:
                    self.errors += 1
                    self.last_error = f"{type(error).__name__}: {error}"
                    rows = []
                now = time.time()
                for row in rows:
                    self.visible.setdefault(row["payment_uuid"], now)
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)


def check_lane(lane, result, terminal) -> str:
    """'' when the payment was done correctly, else what went wrong."""
    if result.get("error"):
        return result["error"]
    final = result.get("final")
    if not final:
        return "no final state within the time limit"
    if final["state"] != "success":
        return f"state {final['state']}: {final['message']}"
    if abs(final["amount"] - lane["amount"]) > 0.001:
        return f"amount {final['amount']} instead of {lane['amount']}"
    if final["auth_code"] != "123456" or final["card_last4"] != "1234":
        return f"card data {final['auth_code']!r} {final['card_last4']!r}"
    return terminal_problem(lane, terminal)


def terminal_problem(lane, terminal) -> str:
    """'' when the lane's terminal got exactly one request, for the lane's amount."""
    exchanges = terminal.exchanges
    if len(exchanges) != 1:
        return f"{len(exchanges)} requests reached the terminal"
    amount = exchanges[0]["request_fields"].get("CB", "").lstrip("0")
    if amount != str(lane["minor"]):
        return f"terminal asked for {amount} instead of {lane['minor']}"
    return ""


def set_arrivals(lanes, args) -> None:
    """When each lane's cashier clicks, seconds after the storm began: all at
    once, or a Poisson process of len(lanes) clicks per --arrival-window."""
    rate = len(lanes) / args.arrival_window if args.arrivals == "poisson" else 0
    at = 0.0
    for lane in lanes:
        if rate:
            at += random.expovariate(rate)
        lane["arrival"] = at


def one_run(bench: c.Bench, count: int, args) -> dict[str, Any]:
    c.log(f"=== {count} lane(s), customer delay {args.delay:g} s ===")
    scenario = c.Scenario("approve", delay=args.delay)
    db, terminals, lanes = bench.new_lanes(f"lanes{count}", count, scenario)
    set_arrivals(lanes, args)
    token = c.setup_relays(bench, db, lanes)[0]["token"] if args.relay else ""
    server = bench.server(db)
    relay = None
    if token:
        folder = bench.workspace.path / "relay"
        relay = c.RelayProcess(server.url, token, folder, "--quiet")
        relay.wait_until(lambda: server.log_lines("/caisse_ap/relay/poll"), "poll")
    try:
        return _one_run(bench, count, args, db, terminals, lanes, server)
    finally:
        if relay:
            relay.stop()


def _run_storm(lanes, sessions, args, observer_session):
    """Every lane pays at once; one observer times when outcomes become visible."""
    results: list[dict[str, Any]] = [{} for _ in lanes]
    observer = Observer(observer_session, results, args.observe, args.delay + 240)
    observer.start()
    payers = [
        partial(run_lane, lane, session, args)
        for lane, session in zip(lanes, sessions, strict=True)
    ]
    storm_start = c.pay_together(payers, results, args.delay + 240)
    observer.join(10)
    observer.stop()
    if observer.errors:
        c.log(f"observer: {observer.errors} error(s), last: {observer.last_error}")
    return results, observer, storm_start


def _network_counts(results, tcp_before, tcp_after) -> dict[str, int]:
    """Requests lost at the TCP level, and the kernel's listen queue counters."""
    lost = [[e.split(":")[0] for e in r.get("network_errors", [])] for r in results]

    def grew(counter: str) -> int:
        return tcp_after.get(counter, 0) - tcp_before.get(counter, 0)

    return {
        "start_resets": sum(errors.count("start") for errors in lost),
        "status_resets": sum(errors.count("status") for errors in lost),
        "cashier_failures": sum(1 for r in results if r.get("cashier_error")),
        "retried_lanes": sum(1 for errors in lost if "start" in errors),
        "overflows": grew("ListenOverflows"),
        "cookies": grew("TCPReqQFullDoCookies"),
    }


def _watch_figures(probe, sampler, server, times, paying) -> dict[str, Any]:
    """What the probe and the /proc sampler saw: idle, customers paying, storm."""
    idle_start, storm_start, first_answer, storm_end = times
    paying_samples = sampler.between(*paying)
    idle_samples = sampler.between(idle_start, storm_start)
    return {
        "probe_idle": probe.between(idle_start, storm_start),
        "probe_paying": probe.between(*paying),
        "probe_answers": probe.between(first_answer, storm_end),
        "probe_storm": probe.between(storm_start, storm_end),
        "probe_failures": probe.failures_between(idle_start, storm_end),
        "paying_seconds": max(0.0, paying[1] - paying[0]),
        "in_service": [s["in_service"] for s in paying_samples],
        "both_busy": [s["busy_workers"] >= server.workers for s in paying_samples],
        "longest_busy": sampler.longest_busy(*paying) if paying_samples else 0.0,
        "terminal_sockets": max(
            (s["terminal_sockets"] for s in paying_samples),
            key=lambda d: sum(d.values()),
            default={},
        ),
        "threads_idle": max((s["http_threads"] for s in idle_samples), default=0),
        "threads_paying": max((s["http_threads"] for s in paying_samples), default=0),
        "vms_idle": max((s["http_vms"] for s in idle_samples), default=0),
        "vms_paying": max((s["http_vms"] for s in paying_samples), default=0),
        "pg_idle": sampler.pg_max(idle_start, storm_start),
        "pg_storm": sampler.pg_max(storm_start, storm_end + 2),
    }


def _lane_times(results, terminals, observer) -> dict[str, list]:
    """Start RPCs, and from each terminal's answer to the outcome being visible."""
    answer_at = [t.exchanges[0]["ended_at"] if t.exchanges else None for t in terminals]
    received_at = [
        t.exchanges[0]["received_at"] if t.exchanges else None for t in terminals
    ]
    return {
        "start": [r["started"] - r["sent"] for r in results if "started" in r],
        "click_terminal": [
            at - r["sent"]
            for r, at in zip(results, received_at, strict=True)
            if at and "sent" in r
        ],
        "latency": [
            observer.visible[r["uuid"]] - at
            for r, at in zip(results, answer_at, strict=True)
            if at and r.get("uuid") in observer.visible
        ],
        "pos_latency": [
            r["seen"] - at
            for r, at in zip(results, answer_at, strict=True)
            if at and r.get("final")
        ],
        "polls": [r.get("polls", 0) for r in results],
        "polls_per_minute": [
            r["polls_per_minute"] for r in results if "polls_per_minute" in r
        ],
    }


def _one_run(bench, count, args, db, terminals, lanes, server) -> dict[str, Any]:
    sessions = c.authenticate_many(server.http_port, db, count)
    probe_session = c.warm_session(server)
    horizon = args.idle + args.delay + 300
    probe, sampler, idle_start = c.start_watching(
        server, probe_session, terminals.ports, args, horizon
    )
    before = server.resources()
    log_errors_before = len(server.log_lines(" ERROR ", " CRITICAL "))

    tcp_before = c.tcp_counters()
    log_start = len(server.log_lines())
    load = os.getloadavg()[0]
    results, observer, storm_start = _run_storm(
        lanes, sessions, args, c.Session(server.http_port, db).authenticate()
    )
    storm_end = max([r.get("seen", 0) for r in results] + [time.time() - 0.001])
    tcp_after = c.tcp_counters()
    time.sleep(2)
    served = c.server_times(server.log_lines(start=log_start))
    after = server.resources()
    vms_after = max(
        (p.memory_info().vms for p in server.processes_by_kind().get("http", [])),
        default=0,
    )
    probe.stop()
    sampler.stop()

    answered = [
        e["ended_at"] for t in terminals for e in t.exchanges if e.get("ended_at")
    ]
    all_started = max((r.get("started", storm_start) for r in results), default=0)
    first_answer = min(answered, default=storm_end)
    run = {
        **_lane_outcomes(lanes, results, terminals),
        "count": count,
        **_network_counts(results, tcp_before, tcp_after),
        **_lane_times(results, terminals, observer),
        **_watch_figures(
            probe,
            sampler,
            server,
            (idle_start, storm_start, first_answer, storm_end),
            (all_started, first_answer),
        ),
        "vms_after": vms_after,
        "load": load,
        "served": served,
        "rss_before": before["total"]["rss"],
        "rss_after": after["total"]["rss"],
        "processes": after["total"]["processes"],
        **_log_errors(server, log_errors_before),
    }
    for problem in run["problems"][:5]:
        c.log(f"lane problem: {problem}")
    server.stop()
    terminals.stop()
    c.log(
        f"{count} lane(s): {run['ok']}/{count} ok, probe storm p95 "
        f"{c.ms(c.percentile(run['probe_storm'], 0.95))} ms"
    )
    return run


def _lane_outcomes(lanes, results, terminals) -> dict[str, Any]:
    problems = [
        check_lane(lane, result, terminals[lane["index"]])
        for lane, result in zip(lanes, results, strict=True)
    ]
    return {
        "arrivals_span": max(lane.get("arrival", 0.0) for lane in lanes),
        "ok": sum(1 for p in problems if not p),
        "problems": [p for p in problems if p],
        "requests": sum(len(t.exchanges) for t in terminals),
    }


def _log_errors(server, before: int) -> dict[str, Any]:
    """How many ERROR lines Odoo logged since ``before``, and what the first say
    (an integrator reads them, not a count)."""
    lines = server.log_lines(" ERROR ", " CRITICAL ")[before:]
    return {"log_errors": len(lines), "log_error_samples": [x[:240] for x in lines[:3]]}


PAYMENT_COLUMNS = (
    ("lanes", lambda r: r["count"]),
    ("paid correctly", lambda r: f"{r['ok']} / {r['count']}"),
    ("terminal requests", lambda r: r["requests"]),
    ("last click (s after the first)", lambda r: f"{r['arrivals_span']:.1f}"),
    ("click → terminal has the request", lambda r: c.span(r["click_terminal"])),
    ("start RPC", lambda r: c.span(r["start"])),
    ("terminal answer → outcome visible", lambda r: c.span(r["latency"])),
    ("→ seen by the lane's status poll", lambda r: c.span(r["pos_latency"])),
    ("status polls per lane", lambda r: f"{c.percentile(r['polls'], 0.5):.0f}"),
    (
        "status polls per minute of wait, p50 / max",
        lambda r: (
            f"{c.percentile(r['polls_per_minute'], 0.5):.1f} / "
            f"{max(r['polls_per_minute'], default=0):.1f}"
        ),
    ),
    (
        "connections reset: start (lanes) / status",
        lambda r: f"{r['start_resets']} ({r['retried_lanes']}) / {r['status_resets']}",
    ),
    ("starts failed for the cashier", lambda r: r["cashier_failures"]),
    (
        "kernel: listen overflows / SYN cookies",
        lambda r: f"{r['overflows']} / {r['cookies']}",
    ),
)
PROBE_COLUMNS = (
    ("lanes", lambda r: r["count"]),
    ("idle", lambda r: c.span(r["probe_idle"])),
    ("customers paying", lambda r: c.span(r["probe_paying"])),
    ("answers arriving", lambda r: c.span(r["probe_answers"])),
    ("whole storm", lambda r: c.span(r["probe_storm"])),
    ("probe errors", lambda r: r["probe_failures"]),
)
SERVED_COLUMNS = (
    ("lanes", lambda r: r["count"]),
    ("load (1 min) at the storm", lambda r: f"{r['load']:.2f}"),
    *(
        (name, lambda r, name=name: c.span(r["served"].get(name, [])))
        for name in ("caisse_ap_start", "caisse_ap_status")
    ),
    ("read (probe)", lambda r: c.span(r["served"].get("read", []))),
)
SERVER_COLUMNS = (
    ("lanes", lambda r: r["count"]),
    ("paying window (s)", lambda r: f"{r['paying_seconds']:.1f}"),
    (
        "requests in service, mean / max",
        lambda r: f"{_mean(r['in_service']):.2f} / {max(r['in_service'], default=0)}",
    ),
    ("both workers busy", lambda r: f"{100 * _mean(r['both_busy']):.0f} % of samples"),
    ("longest busy stretch of a worker (s)", lambda r: f"{r['longest_busy']:.1f}"),
    (
        "terminal sockets held by",
        lambda r: (
            ", ".join(f"{k}: {v}" for k, v in sorted(r["terminal_sockets"].items()))
            or "-"
        ),
    ),
    (
        "threads in HTTP workers idle → paying",
        lambda r: f"{r['threads_idle']} → {r['threads_paying']}",
    ),
    (
        "largest HTTP worker virtual size idle → paying → after (MiB)",
        lambda r: (
            f"{c.mib(r['vms_idle'])} → {c.mib(r['vms_paying'])} → "
            f"{c.mib(r['vms_after'])}"
        ),
    ),
    (
        "PG connections idle → storm (max)",
        lambda r: f"{r['pg_idle']} → {r['pg_storm']}",
    ),
    (
        "RSS before → after (MiB)",
        lambda r: f"{c.mib(r['rss_before'])} → {c.mib(r['rss_after'])}",
    ),
    ("Odoo ERROR lines", lambda r: r["log_errors"]),
)


def report(runs: list[dict[str, Any]], args) -> c.Report:
    rep = _report_intro(args)
    rep.columns("Payments", runs, PAYMENT_COLUMNS)
    rep.columns(
        f"Probe: an unrelated read every {args.probe_interval:g} s (ms)",
        runs,
        PROBE_COLUMNS,
    )
    rep.columns(
        "Time Odoo spent per request during the storm, from its access log "
        "(SQL + Python, without the wait for a worker), ms",
        runs,
        SERVED_COLUMNS,
    )
    rep.columns(
        "Server while the customers pay (sampled every 0.2 s from /proc)",
        runs,
        SERVER_COLUMNS,
    )
    _report_notes(rep, runs)
    _report_checks(rep, runs, args)
    return rep


def _report_intro(args) -> c.Report:
    # Poisson arrivals get their own results file, next to the storm's.
    suffix = "_poisson" if args.arrivals == "poisson" else ""
    if args.relay:
        rep = c.Report(
            f"lanes_relay{suffix}",
            "Lanes benchmark through one shop relay (bench/lanes.py)",
        )
        rep.note(
            "Every lane's payment method is *Through a shop relay*, all through ONE "
            "`python -m caisse_ap.relay` process polling the server over HTTP "
            "(localhost); the relay claims each payment, runs it against the "
            "lane's simulated terminal and posts the outcome."
        )
    else:
        rep = c.Report(f"lanes{suffix}", "Lanes benchmark (bench/lanes.py)")
    arrivals = (
        "the cashiers click at random moments, a Poisson process of N clicks per "
        f"{args.arrival_window:g} s on average"
        if args.arrivals == "poisson"
        else "every lane's cashier clicks at the same instant"
    )
    rep.note(
        f"Prefork Odoo, `--workers=2 --max-cron-threads=1 --limit-time-real=120`; "
        f"customer delay {args.delay:g} s on every terminal; {arrivals} and, like "
        "the POS, the lane sends its first start at once; each lane polls "
        f"`caisse_ap_status` {c.till_polling(args)}. *Click → terminal has the "
        "request*: from the click to the moment the lane's simulated terminal "
        "has received the whole request (same clock). *Outcome visible*: "
        "from the terminal's answer (simulator clock) to the first time one reader, "
        f"polling the journal every {args.observe:g} s for all lanes, sees the final "
        "state that `caisse_ap_status` returns. Times in ms as p50 / p95 / max "
        "(count)."
    )
    return rep


def _report_notes(rep: c.Report, runs: list[dict[str, Any]]) -> None:
    for r in runs:
        if r.get("log_error_samples"):
            samples = "; ".join(f"`{line}`" for line in r["log_error_samples"])
            rep.note(
                f"Odoo's ERROR lines at {r['count']} lanes (first ones): {samples}"
            )
    rep.note(
        "*start RPC*: from the cashier's click to the answer (the retries "
        "included). "
        "*Connections reset*: requests lost at the TCP level before Odoo read them "
        "(the lane then sends the start again, like the POS, after "
        + ", ".join(f"{d:g}" for d in START_RETRY_DELAYS)
        + " s ± 30 %, with the same payment uuid; a lost status poll is simply "
        "repeated, like the POS). *Starts failed for the cashier*: lanes whose "
        'every try was lost, where the POS shows "The payment could not be '
        "started\". Odoo's "
        "prefork listen queue holds 8 × workers = 16 connections; the kernel "
        "counters (whole machine) show how often it overflowed during the storm."
    )
    rep.note(
        "*Paying window*: from the last start RPC answered to the first terminal "
        "answer. *Requests in service*: established connections on the HTTP port "
        "held by the HTTP workers (Odoo answers HTTP/1.0 and closes each "
        "connection): the lanes' own status polls and the probe. A worker pinned "
        "by a payment would stay busy for the whole customer delay. *Terminal "
        "sockets*: TCP connections to the simulated terminals, by Odoo process "
        "kind (the background threads). RSS: all Odoo processes (master, HTTP "
        "workers, cron worker, bus), before the storm and 2 s after the last "
        "outcome. *Virtual size*: what Odoo compares with `limit_memory_soft` "
        "(2048 MiB by default: the worker is replaced after its request) and "
        "`limit_memory_hard` (2560 MiB: the address-space limit of the process)."
    )
    for r in runs:
        if r["problems"]:
            rep.note(
                f"Problems with {r['count']} lanes: " + "; ".join(r["problems"][:10])
            )


def _report_checks(rep: c.Report, runs: list[dict[str, Any]], args) -> None:
    storm = next(
        (r for r in runs if r["count"] == args.storm),
        max(runs, key=lambda r: r["count"]),
    )
    for r in runs:
        rep.check(
            f"{r['count']} lane(s): all paid correctly",
            r["ok"] == r["count"],
            f"{r['ok']} / {r['count']}",
        )
    rep.check(
        "no start fails for the cashier (network errors retried like the POS)",
        not any(r["cashier_failures"] for r in runs),
        ", ".join(f"{r['count']}: {r['cashier_failures']}" for r in runs),
    )
    p95 = c.percentile(storm["probe_storm"], 0.95)
    rep.check(
        f"probe p95 during the storm < {PROBE_GOAL * 1000:.0f} ms at "
        f"{storm['count']} lanes",
        p95 < PROBE_GOAL,
        f"{c.ms(p95)} ms",
    )
    if args.arrivals == "poisson":
        # A storm of clicks in the same instant may overflow the queue: the
        # retried starts absorb it. Shops' real arrivals must not.
        rep.check(
            f"no listen-queue overflow at {storm['count']} lanes",
            storm["overflows"] == 0,
            f"{storm['overflows']} overflows",
        )
        click = c.percentile(storm["click_terminal"], 0.95)
        rep.check(
            f"click → terminal p95 < {CLICK_GOAL * 1000:.0f} ms at "
            f"{storm['count']} lanes",
            click < CLICK_GOAL,
            f"{c.ms(click)} ms",
        )
    _cost_checks(rep, storm)
    if args.bus_poll:
        most = max(max(r["polls_per_minute"], default=0) for r in runs)
        rep.check(
            f"at most {POLLS_PER_MINUTE_GOAL} status polls per lane per minute of wait",
            most <= POLLS_PER_MINUTE_GOAL,
            f"at most {most:.1f}",
        )
    longest = max(r["longest_busy"] for r in runs)
    rep.check(
        f"no HTTP worker busy for {BUSY_GOAL:g} s in a row while customers pay",
        longest < BUSY_GOAL,
        f"longest {longest:.1f} s",
    )


def _cost_checks(rep: c.Report, storm: dict[str, Any]) -> None:
    served = storm["served"]
    read = c.percentile(served.get("read", []), 0.95)
    for name, goal in (
        ("caisse_ap_start", START_COST_GOAL),
        ("caisse_ap_status", STATUS_COST_GOAL),
    ):
        p95 = c.percentile(served.get(name, []), 0.95)
        ratio = p95 / read if read else float("inf")
        rep.check(
            f"{name} server time p95 ≤ {goal:g} × the plain read's at "
            f"{storm['count']} lanes",
            ratio <= goal,
            f"{c.ms(p95)} ms against {c.ms(read)} ms ({ratio:.1f} ×)",
        )


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    with c.Bench("lanes", args.template, args.keep) as bench:
        runs = [one_run(bench, count, args) for count in c.listed(args.lanes, int)]
    return report(runs, args).save(write=not args.no_write)


if __name__ == "__main__":
    c.run_main(main)
