"""Fault matrix: every terminal behaviour through the whole stack, as a table.

One prefork Odoo server (``--workers=2``), one POS config with an open session
and a Caisse-AP payment method per simulated terminal (payment timeout 30 s,
the minimum). For every scenario of the simulator (``caisse_ap.simulator.KINDS``)
and a few cashier situations (cancel, busy terminal, unreachable terminal,
repeated start, retry after an unknown outcome, refund), a payment goes
RPC → journal → background worker → terminal → journal → bus and status RPC,
exactly as the POS calls it. The table gives the final journal state, what the
status RPC says, the cashier's message, how many requests reached the terminal
and the bus notifications the POS received.

Exit status 1 when a row differs from its expectation. About 2.5 min plus the
template (the "hang" row waits for the 30 s payment timeout).

Small run: python3 bench/fault_matrix.py --only approve,decline,close
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import common as c

from caisse_ap.simulator import KINDS

TIMEOUT = 30  # the payment timeout set on the methods (the minimum allowed)
AMOUNT = 12.34

# What each simulator scenario must end as, and a word the cashier must read.
EXPECTED = {
    "approve": ("success", ""),
    "decline": ("failure", "refused"),
    "red_button": ("failure", "refused"),
    "hang": ("unknown", "unknown"),
    "close": ("unknown", "unknown"),
    "garbage": ("unknown", "unknown"),
    "split": ("success", ""),
    "drip": ("success", ""),
    "oversize": ("unknown", "unknown"),
    "wrong_echo": ("unknown", "unknown"),
    "partial": ("success", "Partial payment"),
    "accepted": ("unknown", "unknown"),
    "reset": ("unknown", "unknown"),
}
TERMINAL_BEHAVIOUR = {
    "approve": "approves",
    "decline": "declines (AF=04)",
    "red_button": "red button (AE=01, no amount)",
    "hang": "never answers",
    "close": "closes without answering",
    "garbage": "answers bytes that are not Caisse-AP",
    "split": "approval in 3 segments",
    "drip": "approval byte by byte",
    "oversize": "approval padded past 64 KiB",
    "wrong_echo": "approval echoing another POS number (CA)",
    "partial": "approves half the amount",
    "accepted": "AE=11 (accepted, no result)",
    "reset": "half an approval, then TCP reset",
}


@dataclass
class Row:
    case: str
    behaviour: str
    expected: str
    journal: str = "-"
    reason: str = ""
    status: str = "-"
    message: str = ""
    requests: int | str = 0
    bus: str = "-"
    seconds: float | None = None
    problems: list[str] = field(default_factory=list)

    def cells(self) -> tuple[Any, ...]:
        return (
            self.case,
            self.behaviour,
            self.expected,
            self.journal,
            self.reason or "-",
            self.status,
            self.message or "(none)",
            self.requests,
            self.bus,
            "-" if self.seconds is None else f"{self.seconds:.1f}",
            "ok" if not self.problems else "**" + "; ".join(self.problems) + "**",
        )


class Stack:
    """The server, the lanes and what the checks need."""

    def __init__(self, bench: c.Bench, db: str, server: c.OdooServer, terminals, lanes):
        self.bench = bench
        self.db = db
        self.server = server
        self.terminals = terminals
        self.lanes = lanes
        self.cashier = c.Session(server.http_port, db).authenticate()
        self.admin = c.Session(server.http_port, db).authenticate()

    def start(self, lane: int, amount: float = AMOUNT, **kwargs) -> tuple[dict, dict]:
        data = c.payment_data(self.lanes[lane], amount)
        data.update(kwargs)
        first = self.cashier.caisse_ap_start(self.lanes[lane]["method_id"], data)
        return data, first

    def wait(self, lane: int, uuid: str, timeout: float = TIMEOUT + 60) -> dict | None:
        final, _seen, _polls = c.wait_final(
            self.cashier, self.lanes[lane]["method_id"], uuid, timeout=timeout
        )
        return final

    def journal(self, uuid: str) -> list[dict[str, Any]]:
        return self.admin.call(
            "pos.caisse.ap.transaction",
            "search_read",
            [[["payment_uuid", "=", uuid]]],
            {
                "fields": ["state", "attempt", "error_message", "cancel_requested"],
                "order": "attempt asc",
            },
        )

    def bus(self, uuid: str) -> list[str]:
        """States sent on the POS's bus channel for this payment, oldest first."""
        query = (
            "SELECT message FROM bus_bus WHERE message LIKE '%CAISSE_AP_TRANSACTION%' "
            f"AND message LIKE '%{uuid}%' ORDER BY id"
        )
        out = subprocess.run(
            ["psql", "-d", self.db, "-tAc", query],
            capture_output=True,
            text=True,
            check=False,
        )
        states = []
        for line in out.stdout.splitlines():
            try:
                payload = json.loads(line)["payload"]
            except (ValueError, KeyError, TypeError):
                continue
            states.append(payload.get("state", "?"))
        return states

    def requests(self, lane: int) -> int:
        return len(self.terminals[lane].exchanges)

    def settle(self, lane: int, count: int) -> int:
        """Wait until the terminal recorded ``count`` transactions; the real count."""
        self.terminals[lane].wait_for_exchanges(count, 5)
        return self.requests(lane)


def fill(row: Row, stack: Stack, lane: int, uuid: str, final, started: float):
    row.seconds = time.time() - started
    history = stack.journal(uuid)
    row.journal = " → ".join(h["state"] for h in history) or "(none)"
    reasons = [h["error_message"] for h in history if h["error_message"]]
    row.reason = _short(reasons[-1]) if reasons else ""
    if final is None:
        row.problems.append("no final state in time")
        return
    row.status = final["state"]
    row.message = final["message"]
    states = stack.bus(uuid)
    row.bus = " → ".join(states) if states else "none"
    if states and states[-1] != final["state"]:
        row.problems.append(f"last bus state {states[-1]} ≠ status {final['state']}")
    if not states:
        row.problems.append("no bus notification")
    if history and history[-1]["state"] != final["state"]:
        row.problems.append("journal and status differ")


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def scenario_case(
    stack: Stack,
    kind: str,
    lane: int = 0,
    *,
    scenario: c.Scenario | None = None,
    amount: float = AMOUNT,
    label: str = "",
) -> Row:
    """The row of one scenario kind (``scenario``: its options, default none)."""
    expected, word = EXPECTED.get(kind, ("?", ""))
    row = Row(label or kind, TERMINAL_BEHAVIOUR.get(kind, kind), expected)
    if kind not in EXPECTED:
        row.problems.append("no expectation for this new scenario: add it here")
    terminal = stack.terminals[lane]
    before = stack.requests(lane)
    terminal.queue(scenario or c.Scenario(kind))
    started = time.time()
    data, _first = stack.start(lane, amount)
    final = stack.wait(lane, data["payment_uuid"])
    if kind == "hang":
        terminal.release_hang()
    row.requests = stack.settle(lane, before + 1) - before
    fill(row, stack, lane, data["payment_uuid"], final, started)
    if final:
        if final["state"] != expected:
            row.problems.append(f"expected {expected}")
        if word and word.lower() not in final["message"].lower():
            row.problems.append(f"message lacks {word!r}")
        if not word and final["message"]:
            row.problems.append("a message on plain success")
        if kind == "partial" and not (
            final["partial"] and final["amount_authorised"] == round(amount / 2, 2)
        ):
            row.problems.append(f"authorised {final['amount_authorised']}")
        if abs(final["amount"] - amount) > 0.001:
            row.problems.append(f"amount {final['amount']}")
        if kind in ("approve", "split", "drip") and final["card_last4"] != "1234":
            row.problems.append("card data missing")
    if row.requests != 1:
        row.problems.append(f"{row.requests} requests")
    return row


def case_refund(stack: Stack, lane: int = 0) -> Row:
    row = Row("refund", "approves a credit (CD=1)", "success")
    before = stack.requests(lane)
    started = time.time()
    data, _ = stack.start(lane, -AMOUNT)
    final = stack.wait(lane, data["payment_uuid"])
    row.requests = stack.settle(lane, before + 1) - before
    fill(row, stack, lane, data["payment_uuid"], final, started)
    request = stack.terminals[lane].exchanges[-1]["request_fields"]
    if request.get("CD") != "1":
        row.problems.append(f"CD={request.get('CD')}")
    if final and (final["state"] != "success" or final["amount"] != -AMOUNT):
        row.problems.append(f"{final['state']} {final['amount']}")
    return row


def case_cancel(stack: Stack, kind: str, lane: int = 0) -> Row:
    expected = "failure" if kind == "red_button" else "success"
    label = (
        "cancel, then red button" if kind == "red_button" else "cancel, customer pays"
    )
    row = Row(label, f"{TERMINAL_BEHAVIOUR[kind]} after 3 s", expected)
    before = stack.requests(lane)
    stack.terminals[lane].queue(c.Scenario(kind, delay=3))
    started = time.time()
    data, _ = stack.start(lane)
    time.sleep(0.5)
    cancelled = stack.cashier.caisse_ap_cancel(
        stack.lanes[lane]["method_id"], data["payment_uuid"]
    )
    final = stack.wait(lane, data["payment_uuid"])
    row.requests = stack.settle(lane, before + 1) - before
    fill(row, stack, lane, data["payment_uuid"], final, started)
    if cancelled["state"] != "cancel_requested":
        row.problems.append(f"cancel gave {cancelled['state']}")
    if final and (final["state"] != expected or not final["cancel_requested"]):
        row.problems.append(
            f"{final['state']}, cancel flag {final['cancel_requested']}"
        )
    if kind == "approve" and final and "cancel" not in final["message"].lower():
        row.problems.append("the cashier is not told the cancel came too late")
    return row


def case_unreachable(stack: Stack, lane: int) -> Row:
    row = Row("terminal unreachable", "nothing listens on the port", "error")
    started = time.time()
    data, _ = stack.start(lane)
    final = stack.wait(lane, data["payment_uuid"])
    row.requests = 0
    fill(row, stack, lane, data["payment_uuid"], final, started)
    if final and (final["state"] != "error" or "not" not in final["message"]):
        row.problems.append(f"{final['state']}")
    return row


def case_busy(stack: Stack, lane: int = 0) -> Row:
    row = Row(
        "second payment on a busy terminal",
        "approves the first after 3 s",
        "refused, first success",
    )
    before = stack.requests(lane)
    stack.terminals[lane].queue(c.Scenario("approve", delay=3))
    started = time.time()
    data, _ = stack.start(lane)
    time.sleep(0.3)
    try:
        stack.start(lane)
        refusal = ""
        row.problems.append("second start accepted")
    except c.RpcError as error:
        refusal = error.message
    final = stack.wait(lane, data["payment_uuid"])
    row.requests = stack.settle(lane, before + 1) - before
    fill(row, stack, lane, data["payment_uuid"], final, started)
    row.status = f"second: UserError; first: {row.status}"
    row.message = f"second: {refusal}"
    if "busy" not in refusal:
        row.problems.append("refusal does not say busy")
    if row.requests != 1:
        row.problems.append(f"{row.requests} requests")
    return row


def case_repeat(stack: Stack, lane: int = 0) -> Row:
    row = Row(
        "same payment started twice (POS reload)",
        "approves after 1 s",
        "success, 1 request",
    )
    before = stack.requests(lane)
    stack.terminals[lane].queue(c.Scenario("approve", delay=1))
    started = time.time()
    data, first = stack.start(lane)
    _data, again = stack.start(lane, payment_uuid=data["payment_uuid"])
    final = stack.wait(lane, data["payment_uuid"])
    time.sleep(0.5)
    row.requests = stack.settle(lane, before + 1) - before
    fill(row, stack, lane, data["payment_uuid"], final, started)
    if again["transaction_id"] != first["transaction_id"]:
        row.problems.append("a second transaction was created")
    if row.requests != 1:
        row.problems.append(f"{row.requests} requests")
    return row


def case_retry(stack: Stack, lane: int = 0) -> Row:
    row = Row(
        "retry after an unknown outcome",
        "closes without answering, then approves",
        "unknown → (no retry flag: nothing sent) → success",
    )
    before = stack.requests(lane)
    stack.terminals[lane].queue(c.Scenario("close"))
    started = time.time()
    data, _ = stack.start(lane)
    first = stack.wait(lane, data["payment_uuid"])
    stack.settle(lane, before + 1)
    same, _ = stack.start(lane, payment_uuid=data["payment_uuid"])
    blind = stack.cashier.caisse_ap_status(
        stack.lanes[lane]["method_id"], data["payment_uuid"]
    )
    _d, retried = stack.start(lane, payment_uuid=data["payment_uuid"], retry=True)
    final = stack.wait(lane, data["payment_uuid"])
    row.requests = stack.settle(lane, before + 2) - before
    fill(row, stack, lane, data["payment_uuid"], final, started)
    if not first or first["state"] != "unknown":
        row.problems.append(f"first {first and first['state']}")
    if blind["attempt"] != 1 or blind["state"] != "unknown":
        row.problems.append("a start without retry sent again")
    if retried["attempt"] != 2 or not final or final["state"] != "success":
        row.problems.append("retry did not give attempt 2 success")
    if row.requests != 2:
        row.problems.append(f"{row.requests} requests")
    return row


def parse_args():
    parser = c.base_parser(__doc__)
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated scenario kinds and extra cases to run (default: all); "
        "extras: refund, cancel_red_button, cancel_paid, unreachable, busy, repeat, "
        "retry",
    )
    return parser.parse_args()


EXTRAS = {
    "refund": lambda s: case_refund(s),
    "cancel_red_button": lambda s: case_cancel(s, "red_button"),
    "cancel_paid": lambda s: case_cancel(s, "approve"),
    "unreachable": lambda s: case_unreachable(s, 1),
    "busy": lambda s: case_busy(s),
    "repeat": lambda s: case_repeat(s),
    "retry": lambda s: case_retry(s),
}


def main() -> int:
    args = parse_args()
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    kinds = [k for k in KINDS if not wanted or k in wanted]
    extras = [name for name in EXTRAS if not wanted or name in wanted]
    rows: list[Row] = []
    with c.Bench("faults", args.template, args.keep) as bench:
        bench.build_template()
        db = bench.new_database("matrix")
        terminals = bench.terminals(2)
        lanes = c.setup_lanes(
            bench, db, terminals.ports, {"fr_caisse_ap_ip_timeout": TIMEOUT}
        )
        terminals[1].stop()  # lane 2: nobody listens on its port any more
        server = bench.server(db)
        server.start()
        stack = Stack(bench, db, server, terminals, lanes)
        for kind in kinds:
            c.log(f"scenario {kind}")
            rows.append(scenario_case(stack, kind))
        for name in extras:
            c.log(f"case {name}")
            rows.append(EXTRAS[name](stack))
        errors = server.log_lines(" ERROR ", " CRITICAL ")
        tracebacks = len(server.log_lines("Traceback"))
        server.stop()

    rep = c.Report("fault_matrix", "Fault matrix (bench/fault_matrix.py)")
    rep.note(
        "Prefork Odoo (`--workers=2`), payment timeout "
        f"{TIMEOUT} s, amount {AMOUNT:.2f}. *journal*: the states of "
        "`pos.caisse.ap.transaction` for the payment (one per attempt); *status*: "
        "`caisse_ap_status` at the end; *message*: what the cashier reads; *bus*: "
        "the states notified on the POS channel (`CAISSE_AP_TRANSACTION`); "
        "*requests*: requests the terminal received."
    )
    rep.table(
        (
            "case",
            "terminal",
            "expected",
            "journal",
            "journal reason (technical)",
            "status",
            "cashier message",
            "requests",
            "bus",
            "s",
            "check",
        ),
        [row.cells() for row in rows],
    )
    if errors:
        rep.note(
            f"Odoo logged {len(errors)} ERROR line(s) ({tracebacks} traceback(s)); "
            "first: `" + errors[0][-300:] + "`"
        )
    bad = [row.case for row in rows if row.problems]
    rep.check(
        "every row as expected",
        not bad,
        f"{len(rows) - len(bad)} / {len(rows)}"
        + (f" (not: {', '.join(bad)})" if bad else ""),
    )
    rep.check("no ERROR in the Odoo log", not errors, f"{len(errors)} line(s)")
    rep.save(write=not args.no_write and not wanted)
    return 0 if rep.ok else 1


if __name__ == "__main__":
    c.run_main(main)
