"""This addon and the OCA module side by side, measured by the same script.

The OCA wheel (18.0.1.5.0, PyPI) is downloaded into a temporary folder and
installed in its own database; both get the same server, terminals, probe
and load (lanes, a long customer, terminal faults); goals and tables:
bench/README.md.

Development run: python3 bench/compare.py --quick
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import common as c
import fault_matrix as fm
import lanes as ln
from settings import ADDON

OCA_REQUIREMENT = "odoo-addon-l10n-fr-pos-caisse-ap-ip==18.0.1.5.0.1"
# What the OCA POS puts in data["timeout"] (ms); its server keeps 3 s less for
# the socket to the terminal.
OCA_POS_TIMEOUT_MS = 180000
PROBE_TIMEOUT = 10.0  # a probe not answered within this counts as no answer
PROBE_GOAL = 0.250  # s, this addon's probe p95 at the largest N
HELD = 5.0  # s: a worker busy this long without a break is held by a payment
AMOUNT = fm.AMOUNT
# The terminal charges the customer in these scenarios (an approval is sent,
# readable or not); "partial" charges half.
CHARGING_KINDS = ("approve", "split", "drip", "oversize", "wrong_echo", "partial")
# --quick's defaults: a development run of a few minutes.
QUICK = {"lanes": "1,2", "delay": 5.0, "long": 40.0, "limit_time_real": 30, "idle": 3.0}
# Every RPC error or timeout ends in one catch-all dialog in the OCA POS.
OCA_CATCH_ALL = '(its POS\'s catch-all dialog: "no answer from the terminal in time")'


# -- pure helpers (tested in dev/tests/test_bench_compare.py) --------------
def ratio(ours: float | None, theirs: float | None) -> str:
    """``theirs / ours`` as "×12" ("-" when it means nothing)."""
    if ours is None or theirs is None or ours != ours or theirs != theirs:
        return "-"
    if ours == 0:
        return "-" if theirs == 0 else "∞"
    value = theirs / ours
    return f"×{value:.1f}" if value < 10 else f"×{value:.0f}"


def pair(ours: Any, theirs: Any, with_ratio: bool = False) -> str:
    """One table cell: this addon / the OCA module (and their ratio)."""
    text = f"{_cell(ours)} / {_cell(theirs)}"
    if with_ratio:
        text += f" ({ratio(ours, theirs)})"
    return text


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.1f}"
    return str(value)


def shop_outcome(charged: float, recorded: str, recorded_amount: float) -> str:
    """What a payment's end means for the shop, from the terminal's truth
    (``charged``: the amount approved on the terminal, 0 if none) and what the
    addon tells the cashier (``recorded``: success, unknown or anything else)."""
    if recorded == "success":
        if not charged:
            return "WRONG: paid in Odoo, customer not charged"
        if abs(charged - recorded_amount) > 0.001:
            return f"WRONG: {recorded_amount:.2f} recorded, {charged:.2f} charged"
        return "right: recorded as charged"
    if recorded == "unknown":
        return "safe: the cashier is told to check the terminal"
    if charged:
        return f"WRONG: {charged:.2f} charged, the cashier is told it failed"
    return "right: not charged, not paid"


def held_workers(stretches: dict[int, float], threshold: float = HELD) -> int:
    """HTTP workers seen serving ``threshold`` s or more without a break."""
    return sum(1 for seconds in stretches.values() if seconds >= threshold)


# -- the OCA module ---------------------------------------------------------
def fetch_oca(folder: Path) -> Path:
    """Download the OCA wheel into ``folder`` and unzip its addon; its path."""
    c.log(f"pip download --no-deps {OCA_REQUIREMENT}")
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    subprocess.run([*pip, OCA_REQUIREMENT, "-d", str(folder)], check=True)
    wheel = next(folder.glob("*.whl"))
    prefix = f"odoo/addons/{ADDON}/"
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.startswith(prefix)]
        archive.extractall(folder / "wheel", members)
    return folder / "wheel" / prefix


def oca_send(session: c.Session, lane: dict[str, Any], amount: float) -> dict:
    """``fr_caisse_ap_ip_send_payment`` with the data its POS sends."""
    data = {
        "amount": amount,
        "currency_id": lane["currency_id"],
        "payment_method_id": lane["method_id"],
        "payment_id": str(uuid.uuid4()),
        "timeout": OCA_POS_TIMEOUT_MS,
    }
    return session.call("pos.payment.method", "fr_caisse_ap_ip_send_payment", [data])


def oca_call(session: c.Session, lane: dict[str, Any], amount: float) -> dict:
    """The call's answer, or ``{"no_answer": why}``; ``seconds`` it took."""
    started = time.time()
    try:
        answer = oca_send(session, lane, amount)
        if not isinstance(answer, dict):
            answer = {"unexpected": repr(answer)}
    except c.RpcError as error:
        answer = {"rpc_error": str(error)}
    except c.NETWORK_ERRORS as error:
        answer = {"no_answer": f"{type(error).__name__}: {error}".strip(": ")}
    answer["seconds"] = time.time() - started
    return answer


def oca_pay_lane(lane, session, _args, barrier, result) -> None:
    try:
        barrier.wait(timeout=120)
        result["sent"] = time.time()
        result["answer"] = oca_call(session, lane, lane["amount"])
        result["seen"] = time.time()
    except Exception as error:  # reported in the table
        result["error"] = f"{type(error).__name__}: {error}"


def oca_check_lane(lane, result, terminal) -> str:
    if result.get("error"):
        return result["error"]
    answer = result.get("answer") or {}
    if answer.get("payment_status") != "success":
        return oca_summary(answer)
    if "AC-123456" not in answer.get("transaction_id", ""):
        return f"transaction {answer.get('transaction_id')!r}"
    return ln.terminal_problem(lane, terminal)


def oca_summary(answer: dict) -> str:
    """The call's end in a few words (for problems and the fault table)."""
    for key in ("no_answer", "rpc_error", "unexpected"):
        if key in answer:
            return f"{key.replace('_', ' ')}: {fm._short(answer[key])}"
    return str(answer.get("payment_status"))


# -- the two addons, as the benchmark drives them ----------------------------
@dataclass
class Addon:
    key: str
    label: str
    bench: c.Bench
    pay: Callable[..., None]
    check: Callable[..., str]


def add_currency_ids(session: c.Session, lanes: list[dict[str, Any]]) -> None:
    for lane in lanes:
        config = session.call(
            "pos.config", "read", [[lane["config_id"]], ["currency_id"]]
        )
        lane["currency_id"] = config[0]["currency_id"][0]


# -- lanes --------------------------------------------------------------------
def storm(addon: Addon, count: int, args) -> dict[str, Any]:
    c.log(f"=== {addon.label}: {count} lane(s), customer delay {args.delay:g} s ===")
    bench = addon.bench
    scenario = c.Scenario("approve", delay=args.delay)
    db, terminals, lanes = bench.new_lanes(f"n{count}", count, scenario)
    server = bench.server(db, limit_time_real=args.limit_time_real)
    try:
        return measure(addon, args, db, server, terminals, lanes)
    finally:
        server.stop()
        terminals.stop()


def measure(addon: Addon, args, db, server, terminals, lanes) -> dict[str, Any]:
    count = len(lanes)
    sessions = c.authenticate_many(server.http_port, db, count)
    for session in sessions:
        session.timeout = args.client_timeout
    probe_session = c.warm_session(server, PROBE_TIMEOUT)
    add_currency_ids(probe_session, lanes)
    horizon = args.idle + args.client_timeout + 300
    probe, sampler, idle_start = c.start_watching(
        server, probe_session, terminals.ports, args, horizon
    )
    results: list[dict[str, Any]] = [{} for _ in lanes]
    payers = [
        partial(addon.pay, lane, session, args)
        for lane, session in zip(lanes, sessions, strict=True)
    ]
    timeout = args.client_timeout + args.delay + 150
    storm_start = c.pay_together(payers, results, timeout)
    storm_end = time.time()
    probe.stop()
    sampler.stop()
    problems = [
        addon.check(lane, result, terminals[lane["index"]])
        for lane, result in zip(lanes, results, strict=True)
    ]
    stretches = sampler.busy_stretches(storm_start, storm_end)
    storm_probes = probe.between(storm_start, storm_end)
    run = {
        "count": count,
        "ok": sum(1 for p in problems if not p),
        "problems": [p for p in problems if p],
        "held": held_workers(stretches),
        "longest_busy": max(stretches.values(), default=0.0),
        "idle_p95": c.percentile(probe.between(idle_start, storm_start), 0.95),
        "p50": c.percentile(storm_probes, 0.5),
        "p95": c.percentile(storm_probes, 0.95),
        "max": max(storm_probes, default=float("nan")),
        "no_answer": probe.failures_between(storm_start, storm_end),
        "probes": len(storm_probes) + probe.failures_between(storm_start, storm_end),
        "silence": probe.longest_silence(storm_start, storm_end),
        "seconds": storm_end - storm_start,
    }
    for problem in run["problems"][:3]:
        c.log(f"{addon.key} lane problem: {problem}")
    c.log(
        f"{addon.label}, {count} lane(s): {run['ok']}/{count} paid, "
        f"{run['held']} worker(s) held, probe p95 {c.ms(run['p95'])} ms, "
        f"{run['no_answer']} probe(s) unanswered, silence {run['silence']:.1f} s"
    )
    return run


# -- the long customer and the faults -----------------------------------------
@dataclass
class Fault:
    case: str
    behaviour: str
    scenario: c.Scenario | None  # None: nothing listens on the terminal's port
    amount: float = AMOUNT


def faults() -> list[Fault]:
    return [
        Fault("split", "approval in 2 TCP segments", c.Scenario("split", segments=2)),
        Fault("drip", "approval byte by byte", c.Scenario("drip")),
        Fault("garbage", "bytes that are not Caisse-AP", c.Scenario("garbage")),
        Fault("oversize", "approval padded past 64 KiB", c.Scenario("oversize")),
        Fault("amount 0.05", "approves 0.05", c.Scenario("approve"), 0.05),
        Fault("amount 0", "approves (if asked)", c.Scenario("approve"), 0.0),
        Fault("partial", "approves half the amount", c.Scenario("partial")),
        Fault(
            "wrong echo",
            "approval echoing another POS number (CA)",
            c.Scenario("wrong_echo"),
        ),
        Fault("no answer", "closes without answering", c.Scenario("close")),
        Fault("refused connection", "nothing listens on the port", None),
        # Last: the OCA module's call then holds a worker until limit_time_real.
        Fault(
            "socket kept open",
            "never answers, keeps the socket open",
            c.Scenario("hang"),
        ),
    ]


def charged(terminal, before: int) -> float:
    """What the terminal approved since its ``before``-th request (0: nothing)."""
    total = 0.0
    for exchange in terminal.exchanges[before:]:
        scenario = exchange["scenario"]
        minor = int(exchange["request_fields"].get("CB") or 0)
        if scenario.kind not in CHARGING_KINDS or not minor:
            continue
        if scenario.kind == "partial":
            minor = scenario.partial_amount or minor // 2
        total += minor / 100
    return total


def long_customer(addon: Addon, session, lane, terminal, args, out: dict) -> None:
    """One payment whose customer takes ``args.long`` s, in a thread."""
    started = time.time()
    try:
        if addon.key == "ours":
            data = c.payment_data(lane, AMOUNT)
            final = c.pay(session, lane, data, timeout=args.long + 120, interval=1.0)
            out["recorded"] = final["state"] if final else "(no final state)"
            out["said"] = final["message"] if final else ""
        else:
            answer = oca_call(session, lane, AMOUNT)
            out["recorded"] = answer.get("payment_status") or oca_summary(answer)
            out["said"] = answer.get("error_message") or (
                OCA_CATCH_ALL if "payment_status" not in answer else ""
            )
    except Exception as error:  # reported in the table
        out["recorded"] = f"{type(error).__name__}: {error}"
    out["seconds"] = time.time() - started
    terminal.wait_for_exchanges(1, args.long + 30)
    out["charged"] = charged(terminal, 0)
    out["lost"] = bool(out["charged"]) and out["recorded"] != "success"


def fault_rows(addon: Addon, args) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every fault case on its own terminal, and the long customer meanwhile."""
    cases = faults()
    bench = addon.bench
    db = bench.new_database("faults")
    terminals = bench.terminals(len(cases) + 1)
    lanes = c.setup_lanes(
        bench, db, terminals.ports[:-1], {"fr_caisse_ap_ip_timeout": fm.TIMEOUT}
    )
    # This addon's payment timeout must outlast the long customer (fixed before
    # the session opens: an open session forbids changing the method).
    long_lane = c.setup_lanes(
        bench, db, terminals.ports[-1:], {"fr_caisse_ap_ip_timeout": args.long + 30}
    )[0]
    long_lane["index"] = len(cases)
    lanes.append(long_lane)
    terminals[len(cases)].queue(c.Scenario("approve", delay=args.long))
    for index, fault in enumerate(cases):
        if fault.scenario is None:
            terminals[index].stop()
    server = bench.server(db, limit_time_real=args.limit_time_real)
    try:
        return _fault_rows(addon, args, db, server, terminals, lanes, cases)
    finally:
        server.stop()


def _fault_rows(addon, args, db, server, terminals, lanes, cases):
    admin = c.Session(server.http_port, db, args.client_timeout).authenticate()
    add_currency_ids(admin, lanes)
    long_lane = lanes[len(cases)]
    stack = fm.Stack(addon.bench, db, server, terminals, lanes)
    for session in (stack.cashier, stack.admin):
        session.timeout = args.client_timeout
    long_result: dict[str, Any] = {}
    long_session = c.Session(server.http_port, db, args.long + 60).authenticate()
    runner = threading.Thread(
        target=long_customer,
        args=(addon, long_session, long_lane, terminals[long_lane["index"]], args),
        kwargs={"out": long_result},
        daemon=True,
    )
    runner.start()
    time.sleep(1)  # the long payment reaches its terminal first
    rows = []
    for index, fault in enumerate(cases):
        c.log(f"{addon.label}: {fault.case}")
        terminal = terminals[index]
        if addon.key == "ours":
            rows.append(ours_fault(stack, index, fault, terminal))
        else:
            rows.append(oca_fault(stack.cashier, lanes[index], fault, terminal))
    runner.join(args.long + 180)
    return rows, long_result


def ours_fault(stack: fm.Stack, index: int, fault: Fault, terminal) -> dict:
    started = time.time()
    if fault.scenario is None:
        row = fm.case_unreachable(
            stack, fm.Row(fault.case, fault.behaviour, "error"), index
        )
    elif fault.amount == 0:
        row = fm.Row(fault.case, fault.behaviour, "refused before sending")
        try:
            stack.start(index, 0.0)
            row.problems.append("a zero amount was accepted")
        except c.RpcError as error:
            row.journal = row.status = "(no transaction)"
            row.message = error.message
        row.requests = len(terminal.exchanges)
        if row.requests:
            row.problems.append(f"{row.requests} requests")
    else:
        row = fm.scenario_case(
            stack,
            fault.scenario.kind,
            index,
            scenario=fault.scenario,
            amount=fault.amount,
            label=fault.case,
        )
    terminal.wait_for_exchanges(1, 1)
    money = charged(terminal, 0) if terminal.running else 0.0
    recorded = row.status if row.status in c.FINAL_STATES else "not started"
    kind = fault.scenario.kind if fault.scenario else ""
    # The row's own check compares the authorised amount with half the amount.
    amount = fault.amount / 2 if kind == "partial" else fault.amount
    return {
        "case": fault.case,
        "behaviour": fault.behaviour,
        "recorded": row.journal,
        "detail": row.reason or "-",
        "said": row.message or "(none)",
        "requests": row.requests,
        "charged": money,
        "outcome": shop_outcome(money, recorded, amount),
        "seconds": time.time() - started,
        "check": "ok" if not row.problems else "; ".join(row.problems),
    }


def oca_fault(session: c.Session, lane, fault: Fault, terminal) -> dict:
    if fault.scenario is not None:
        terminal.queue(fault.scenario)
    started = time.time()
    answer = oca_call(session, lane, fault.amount)
    if fault.scenario is not None:
        # A hung transaction is recorded by the simulator once released.
        terminal.release_hang()
        terminal.wait_for_exchanges(1, 5)
    money = charged(terminal, 0) if fault.scenario is not None else 0.0
    status = answer.get("payment_status")
    if status:
        said = answer.get("error_message") or "(none)"
        detail = (
            f"transaction_id {answer.get('transaction_id')}"
            if status == "success"
            else "-"
        )
    else:
        said = OCA_CATCH_ALL
        detail = oca_summary(answer)
    return {
        "case": fault.case,
        "behaviour": fault.behaviour,
        "recorded": status or "(no answer)",
        "detail": fm._short(detail),
        "said": said,
        "requests": len(terminal.exchanges) if fault.scenario is not None else 0,
        "charged": money,
        # The OCA module does not read the amount the terminal approved.
        "outcome": shop_outcome(money, status or "", fault.amount),
        "seconds": time.time() - started,
        "check": "-",
    }


# -- report -------------------------------------------------------------------
FAULT_COLUMNS = (
    ("case", lambda r: r["case"]),
    ("terminal", lambda r: r["behaviour"]),
    ("recorded", lambda r: r["recorded"]),
    ("detail", lambda r: r["detail"]),
    ("the cashier reads", lambda r: r["said"]),
    ("requests", lambda r: r["requests"]),
    ("charged", lambda r: f"{r['charged']:.2f}"),
    ("for the shop", lambda r: r["outcome"]),
    ("s", lambda r: f"{r['seconds']:.1f}"),
    ("check", lambda r: r["check"]),
)


def report(args, runs, long_runs, fault_tables) -> c.Report:
    rep = _report_intro(args)
    if runs:
        _lanes_tables(rep, args, runs)
    if long_runs:
        _long_table(rep, args, long_runs)
    for label, rows in fault_tables:
        rep.columns(f"Faults, amount {AMOUNT:.2f}: {label}", rows, FAULT_COLUMNS)
    if fault_tables:
        rep.note(
            "*recorded*: this addon's journal states (`pos.caisse.ap.transaction`); "
            "the OCA module's `payment_status` (it keeps no journal: the POS line "
            "is its only record). *charged*: what the simulated terminal approved. "
            "*for the shop*: WRONG when Odoo and the terminal disagree without the "
            "cashier being told to check the terminal."
        )
    goals(rep, args, runs, long_runs, fault_tables)
    return rep


def _report_intro(args) -> c.Report:
    rep = c.Report("compare", "This addon and the OCA module (bench/compare.py)")
    rep.note(
        f"Both on the same prefork Odoo (`--workers=2 --max-cron-threads=1 "
        f"--limit-time-real={args.limit_time_real}`), each in its own database "
        f"and addons path, against the same simulated terminals (profile "
        f"`ingenico`). OCA module: `{OCA_REQUIREMENT}` from PyPI, called as its "
        f"POS calls it (`fr_caisse_ap_ip_send_payment`, data timeout "
        f"{OCA_POS_TIMEOUT_MS} ms, no retry), the benchmark giving up on a call "
        f"after {args.client_timeout:g} s. This addon: `caisse_ap_start`, then "
        f"`caisse_ap_status` {c.till_polling(args)}. Probe: an unrelated "
        f"read every {args.probe_interval:g} s, given up after "
        f"{PROBE_TIMEOUT:g} s. Cells: this addon / the OCA module (OCA ÷ this "
        "addon)."
    )
    return rep


def _lanes_tables(rep: c.Report, args, runs) -> None:
    rep.table(
        f"tills | paid correctly | workers held ≥ {HELD:g} s"
        " | longest busy stretch (s) | probe p95 before, idle (ms) | probe p50 (ms)"
        " | probe p95 (ms) | probe max (ms)"
        f" | probes not answered within {PROBE_TIMEOUT:g} s"
        " | longest time Odoo answered nothing (s) | storm length (s)",
        [lanes_row(ours, oca) for ours, oca in runs],
        f"Lanes: N tills paying at once, customer delay {args.delay:g} s",
    )
    rep.note(
        "*Storm*: from the moment every till calls to the end of the last "
        "till's payment (or the benchmark giving up on it); the probe columns "
        "and *longest time Odoo answered nothing* (no probe answered) cover it. "
        f"*Workers held*: HTTP workers seen serving {HELD:g} s or more without "
        "a break (sampled every 0.2 s from /proc), i.e. waiting for a customer; "
        "*paid correctly*: the right amount approved, recorded and reported, "
        "one request per terminal."
    )
    for ours, oca in runs:
        for label, run in (("this addon", ours), ("OCA", oca)):
            if run["problems"]:
                rep.note(
                    f"Not paid with {run['count']} tills ({label}): "
                    + "; ".join(sorted(set(run["problems"]))[:5])
                )


def _long_table(rep: c.Report, args, long_runs) -> None:
    rep.table(
        "module | customer | Odoo recorded | the cashier reads"
        " | call / poll ended after (s) | charged on the terminal | approval",
        [
            (
                label,
                f"{args.long:g} s",
                result.get("recorded", "-"),
                result.get("said") or "(none)",
                f"{result.get('seconds', 0):.0f}",
                f"{result.get('charged', 0):.2f}",
                "**lost**" if result.get("lost") else "recorded",
            )
            for label, result in long_runs
        ],
        f"One customer taking {args.long:g} s "
        f"(limit_time_real {args.limit_time_real} s)",
    )


def lanes_row(ours: dict[str, Any], oca: dict[str, Any]) -> tuple[Any, ...]:
    def ms_pair(key: str) -> str:
        if not _finite(ours[key], oca[key]):
            return pair(c.ms(ours[key]), c.ms(oca[key]))
        return pair(round(ours[key] * 1000), round(oca[key] * 1000), True)

    return (
        ours["count"],
        pair(f"{ours['ok']}/{ours['count']}", f"{oca['ok']}/{oca['count']}"),
        pair(ours["held"], oca["held"]),
        pair(ours["longest_busy"], oca["longest_busy"], True),
        ms_pair("idle_p95"),
        ms_pair("p50"),
        ms_pair("p95"),
        ms_pair("max"),
        pair(
            f"{ours['no_answer']} of {ours['probes']}",
            f"{oca['no_answer']} of {oca['probes']}",
        ),
        pair(ours["silence"], oca["silence"], True),
        pair(ours["seconds"], oca["seconds"]),
    )


def _finite(*values: float) -> bool:
    return all(value == value for value in values)


def goals(rep: c.Report, args, runs, long_runs, fault_tables) -> None:
    if runs:
        ours, _oca = max(runs, key=lambda pair_: pair_[0]["count"])
        at_two = [oca for _o, oca in runs if oca["count"] >= 2]
        oca_two = min(at_two, key=lambda run: run["count"]) if at_two else None
        ok = (
            ours["ok"] == ours["count"]
            and ours["p95"] < PROBE_GOAL
            and oca_two is not None
            and oca_two["held"] >= 2
        )
        rep.check(
            f"this addon pays {ours['count']} of {ours['count']} tills with probe "
            f"p95 < {PROBE_GOAL * 1000:.0f} ms while the OCA module at N = "
            f"{oca_two['count'] if oca_two else 2} already holds both workers",
            ok,
            f"{ours['ok']}/{ours['count']} paid, p95 {c.ms(ours['p95'])} ms; OCA: "
            + (f"{oca_two['held']} worker(s) held" if oca_two else "not run"),
        )
    if long_runs:
        by_label = dict(long_runs)
        ours = by_label.get("this addon", {})
        oca = by_label.get("OCA module", {})
        rep.check(
            f"0 approvals lost at a {args.long:g} s customer (the OCA module loses it)",
            bool(ours) and not ours.get("lost") and ours.get("recorded") == "success",
            f"this addon: {ours.get('recorded', 'not run')}; OCA module: "
            + ("lost" if oca.get("lost") else oca.get("recorded", "not run")),
        )
    for label, rows in fault_tables:
        if label == "this addon":
            bad = [r["case"] for r in rows if r["check"] != "ok"]
            rep.check(
                "every fault case classified right here",
                not bad,
                f"{len(rows) - len(bad)} / {len(rows)}"
                + (f" (not: {', '.join(bad)})" if bad else ""),
            )


# -- main -----------------------------------------------------------------------
OPTIONS = (
    (
        "--oca-template",
        None,
        "reuse this database (the OCA module installed, demo data) as the "
        "OCA module's template",
    ),
    ("--lanes", "1,2,4,10,50", "lane counts"),
    c.customer_delay(20.0),
    ("--long", 150.0, "long customer, s"),
    ("--limit-time-real", 120, "Odoo's, s"),
    (
        "--client-timeout",
        0.0,
        "the benchmark gives up on a call after this (0: limit-time-real + 10 s)",
    ),
    *c.probing(5.0),
    *c.till_polls(1.0, 0.0),
    ("--parts", "lanes,long,faults", "parts to run (long and faults together)"),
    (
        "--quick",
        False,
        "development run: --lanes 1,2 --delay 5 --long 40 "
        "--limit-time-real 30 --idle 3 by default; writes no result",
    ),
)


def parse_args(argv: Sequence[str] | None = None):
    args = c.parse_args(__doc__, OPTIONS, argv, quick=QUICK)
    args.client_timeout = args.client_timeout or args.limit_time_real + 10.0
    return args


def attempt(failures: list[str], label: str, function, *args) -> Any:
    """``function(*args)``, or None when it failed: the other parts still run."""
    try:
        return function(*args)
    except Exception as error:
        c.log(f"{label} failed:\n{traceback.format_exc()}")
        failures.append(f"{label}: {type(error).__name__}: {fm._short(str(error))}")
        return None


def main() -> int:
    args = parse_args()
    counts = c.listed(args.lanes, int)
    parts = set(c.listed(args.parts))
    folder = Path(tempfile.mkdtemp(prefix="caisse_ap_oca_wheel_"))
    runs, long_runs, fault_tables, failures = [], [], [], []
    try:
        oca_dir = fetch_oca(folder)
        with contextlib.ExitStack() as stack:
            ours = Addon(
                "ours",
                "this addon",
                stack.enter_context(c.Bench("cmp_ours", args.template, args.keep)),
                ln.run_lane,
                ln.check_lane,
            )
            oca = Addon(
                "oca",
                "OCA module",
                stack.enter_context(
                    c.Bench("cmp_oca", args.oca_template, args.keep, oca_dir)
                ),
                oca_pay_lane,
                oca_check_lane,
            )
            if "lanes" in parts:
                for count in counts:
                    both = [
                        attempt(
                            failures, f"{a.label}, {count} tills", storm, a, count, args
                        )
                        for a in (ours, oca)
                    ]
                    if all(both):
                        runs.append(tuple(both))
            if parts & {"long", "faults"}:
                for addon in (ours, oca):
                    done = attempt(
                        failures, f"{addon.label}, faults", fault_rows, addon, args
                    )
                    if done:
                        fault_tables.append((addon.label, done[0]))
                        long_runs.append((addon.label, done[1]))
    finally:
        if args.keep:
            c.log(f"kept the OCA wheel in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    rep = report(args, runs, long_runs, fault_tables)
    for failure in failures:
        rep.note(f"Failed: {failure}")
    rep.check("every part ran", not failures, f"{len(failures)} failure(s)")
    return rep.save(write=not args.no_write and not args.quick)


if __name__ == "__main__":
    c.run_main(main)
