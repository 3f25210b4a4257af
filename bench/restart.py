"""Restart: the Odoo server dies while payments wait on the terminal.

Killed (KILL), stopped (TERM) or its workers recycled (RECYCLE) while two
tills wait; what the journal, the status and the terminal then say. Goals
and tables: bench/README.md.

Small run: python3 bench/restart.py --signal TERM
"""

from __future__ import annotations

import signal
import time
from typing import Any

import common as c
import psutil
from fault_matrix import Stack

TIMEOUT = 30  # payment timeout on the methods (the minimum)
# runtime/worker.py payment_budget(): 10 s to write "sent", 5 s to
# connect, 5 s to send, the answer timeout, 30 s to record; then the sweep's
# 30 s grace. Only then may a transaction still waiting be called lost.
LOST_AFTER = 10 + 5 + 5 + TIMEOUT + 30 + 30
LIMIT_REQUEST = 8  # RECYCLE mode: requests served by a worker before it is replaced
MODES = {
    "KILL": "server killed (SIGKILL to all its processes)",
    "TERM": "graceful stop (SIGTERM), then start",
    "RECYCLE": "HTTP workers recycled (--limit-request), no restart",
}
# Acceptable final states: after a crash the answer is lost (unknown); a
# graceful stop may wait for it; a recycled worker must not lose it.
LABELS = {"KILL": "SIGKILL", "TERM": "SIGTERM", "RECYCLE": "workers recycled"}
EXPECTED = {
    "KILL": ("unknown",),
    "TERM": ("unknown", "success"),
    "RECYCLE": ("success",),
}


OPTIONS = (
    (
        "--signal",
        "KILL",
        "comma-separated events, one run each: KILL (crash), TERM (graceful stop), "
        "RECYCLE (HTTP workers replaced after --limit-request=8, no restart: the "
        "outcome must be kept)",
    ),
    c.customer_delay(10.0),
)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it is dead)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def journal_state(stack: Stack, uuid: str) -> dict[str, Any]:
    rows = stack.journal(uuid)
    return rows[-1] if rows else {}


def recycle_workers(stack: Stack, server: c.OdooServer, count: int) -> list[int]:
    """Light requests until every HTTP worker of the start was replaced."""
    old = {proc.pid for proc in server.processes_by_kind().get("http", [])}
    for _ in range(count):
        stack.admin.call("res.users", "read", [[stack.admin.uid], ["name"]])
        now = {proc.pid for proc in server.processes_by_kind().get("http", [])}
        if not old & now:
            break
        time.sleep(0.05)
    return sorted(old)


def _the_event(sig: str, stack: Stack, server) -> tuple[float, list[int]]:
    """Kill, stop or recycle the server; when it happened, and what survived it."""
    old_pids = [proc.pid for proc in server.processes()]
    killed_at = time.time()
    survivors: list[int] = []
    if sig == "RECYCLE":
        recycled = recycle_workers(stack, server, 4 * LIMIT_REQUEST)
        c.log(f"HTTP workers {recycled} replaced in {time.time() - killed_at:.1f} s")
    else:
        if sig == "KILL":
            server.kill()
        else:
            server.proc.send_signal(signal.SIGTERM)
            server.stop(timeout=60)
        gone = time.time() - killed_at
        time.sleep(1)
        survivors = [pid for pid in old_pids if _alive(pid)]
        c.log(f"server stopped by SIG{sig} in {gone:.1f} s; survivors: {survivors}")
        server.start()
    return killed_at, survivors


def _follow_lanes(stack: Stack, lanes, payments) -> dict[str, Any] | None:
    """Lane 1 asks like the POS, lane 2 waits for the cron; lane 1's final dict."""
    # Lane 1: the POS polls the status every second.
    status_lane = payments[0]
    final, seen, polls = c.wait_final(
        stack.cashier,
        lanes[0]["method_id"],
        status_lane["uuid"],
        timeout=LOST_AFTER + 120,
        interval=1.0,
    )
    status_lane.update(final=final, seen=seen, polls=polls)
    # Lane 2: nobody asks; the cron sweeps it.
    cron_lane = payments[1]
    limit = time.monotonic() + LOST_AFTER + 240
    while time.monotonic() < limit:
        state = journal_state(stack, cron_lane["uuid"]).get("state")
        if state in c.FINAL_STATES:
            cron_lane["seen"] = time.time()
            break
        time.sleep(2)
    cron_lane["final"] = stack.cashier.caisse_ap_status(
        lanes[1]["method_id"], cron_lane["uuid"]
    )
    cron_lane["polls"] = 1
    return final


def _terminal_fates(stack: Stack, terminals, payments, delay: float) -> None:
    # Nothing re-sent: one request per terminal, whatever happened.
    for p in payments:
        terminal = terminals[p["lane"]]
        terminal.wait_for_exchanges(1, delay + 5)
        p["requests"] = len(terminal.exchanges)
        p["answer_fate"] = (
            terminal.exchanges[0]["error"] or "answer written"
            if terminal.exchanges
            else "?"
        )
        p["bus"] = stack.bus(p["uuid"])
        p["journal"] = journal_state(stack, p["uuid"])


def one_run(bench: c.Bench, sig: str, args) -> list[dict[str, Any]]:
    c.log(f"=== {MODES[sig]} ===")
    scenario = c.Scenario("approve", delay=args.delay)
    timeout = {"fr_caisse_ap_ip_timeout": TIMEOUT}
    label = f"restart_{sig.lower()}"
    db, terminals, lanes = bench.new_lanes(label, 2, scenario, timeout)
    # RECYCLE: each HTTP worker is replaced after LIMIT_REQUEST requests, as
    # Odoo does after --limit-request (default 65536) or --limit-memory-soft.
    extra = [f"--limit-request={LIMIT_REQUEST}"] if sig == "RECYCLE" else []
    server = bench.server(db, extra_args=extra)
    stack = Stack(bench, db, server, terminals, lanes)
    payments = []
    for index in range(2):
        data, first = stack.start(index)
        payments.append({"lane": index, "uuid": data["payment_uuid"], "first": first})
    start_time = time.time()
    # Wait until both terminals hold the request and the journal says "sent".
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        states = [journal_state(stack, p["uuid"]).get("state") for p in payments]
        if all(t.busy for t in terminals) and states == ["sent", "sent"]:
            break
        time.sleep(0.1)
    for p in payments:
        p["before"] = stack.cashier.caisse_ap_status(
            lanes[p["lane"]]["method_id"], p["uuid"]
        )["state"]
    killed_at, survivors = _the_event(sig, stack, server)
    restarted_at = time.time()
    c.log(f"serving again {restarted_at - killed_at:.1f} s after the event")

    final = _follow_lanes(stack, lanes, payments)
    status_lane = payments[0]
    _terminal_fates(stack, terminals, payments, args.delay)
    # The terminal is usable again: the cashier retries lane 1 and it is approved.
    terminals[0].set_scenario(c.Scenario("approve", delay=0.2))
    if final and final["state"] == "unknown":
        try:
            _d, retried = stack.start(0, payment_uuid=status_lane["uuid"], retry=True)
            retry_final = stack.wait(0, status_lane["uuid"], 30)
            status_lane["retry"] = (
                f"attempt {retried['attempt']}: {retry_final and retry_final['state']}"
            )
        except c.RpcError as error:
            status_lane["retry"] = f"refused: {error.message}"
    errors = server.log_lines(" ERROR ", " CRITICAL ")
    server.stop()
    terminals.stop()
    for p in payments:
        p.update(
            signal=sig,
            start_time=start_time,
            killed_at=killed_at,
            restarted_at=restarted_at,
            errors=len(errors),
            survivors=survivors,
        )
    return payments


ROW_COLUMNS = (
    ("event", lambda p: LABELS[p["signal"]]),
    ("lane", lambda p: ("status polled every 1 s", "cron sweep, no call")[p["lane"]]),
    ("before", lambda p: p["before"]),
    ("serving again at", lambda p: f"{p['restarted_at'] - p['killed_at']:.1f}"),
    ("journal", lambda p: p["journal"].get("state", "?")),
    ("status RPC", lambda p: (p.get("final") or {}).get("state", "?")),
    (
        "final at",
        lambda p: f"{p['seen'] - p['killed_at']:.0f}" if p.get("seen") else "-",
    ),
    (
        "cashier message",
        lambda p: (p.get("final") or {}).get("message", "") or "(none)",
    ),
    ("bus", lambda p: " → ".join(p["bus"]) or "none"),
    ("terminal requests", lambda p: p["requests"]),
    ("terminal's answer", lambda p: p["answer_fate"]),
    ("retry afterwards", lambda p: p.get("retry", "-")),
)


def report(args, modes: list[str], rows: list[dict[str, Any]]) -> c.Report:
    rep = c.Report("restart", "Restart (bench/restart.py)")
    rep.note(
        f"Prefork Odoo (`--workers=2 --max-cron-threads=1`); payment timeout "
        f"{TIMEOUT} s, so a transaction still waiting is lost {LOST_AFTER} s after "
        f"its start (the worker's payment budget: 10 s to write it sent, 5 s to "
        f"connect, 5 s to send, {TIMEOUT} s for the answer, 30 s to record it; "
        "then 30 s grace), and the sweep runs every minute; the terminals "
        f"approve {args.delay:g} s after the request. Times in seconds from the "
        "event (t = 0); the payments started about 1 s before it. Events: "
        + "; ".join(f"{LABELS[m]}: {MODES[m]}" for m in modes)
        + "."
    )
    rep.columns("", rows, ROW_COLUMNS)
    _checks(rep, rows)
    return rep


def _checks(rep: c.Report, rows: list[dict[str, Any]]) -> None:
    for p in rows:
        final = p.get("final") or {}
        state = final.get("state")
        who = f"{LABELS[p['signal']]} lane {p['lane'] + 1}"
        wanted = EXPECTED[p["signal"]]
        rep.check(
            f"{who}: {' or '.join(wanted)} in the journal and the status",
            p["journal"].get("state") == state and state in wanted,
            f"{p['journal'].get('state')} / {state}",
        )
        if state == "unknown":
            message = final.get("message", "")
            rep.check(
                f"{who}: the cashier is told to check the terminal",
                "terminal" in message and "unknown" in message,
                "yes" if message else "no message",
            )
        rep.check(
            f"{who}: nothing re-sent", p["requests"] == 1, f"{p['requests']} request(s)"
        )
        rep.check(
            f"{who}: the POS is notified on the bus",
            bool(p["bus"]) and p["bus"][-1] == state,
            " → ".join(p["bus"]) or "none",
        )
        if "retry" in p:
            rep.check(
                f"{who}: retry accepted and approved",
                p["retry"].endswith("success"),
                p["retry"],
            )
        if p["survivors"]:
            rep.check(f"{who}: server fully stopped", False, str(p["survivors"]))


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    modes = [mode.upper() for mode in c.listed(args.signal)]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        c.log(f"unknown --signal {', '.join(unknown)}: one of {', '.join(MODES)}")
        return 2
    rows: list[dict[str, Any]] = []
    with c.Bench("restart", args.template, args.keep) as bench:
        for mode in modes:
            rows += one_run(bench, mode, args)
    return report(args, modes, rows).save(write=not args.no_write)


if __name__ == "__main__":
    c.run_main(main)
