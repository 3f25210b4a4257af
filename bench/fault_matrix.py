"""Fault matrix: every terminal behaviour through the whole stack, as a table.

Every simulator scenario and cashier situation, RPC → journal → terminal →
bus, as the POS calls it; exit status 1 when a row differs from its
expectation (bench/README.md). About 2.5 min plus the template.

Small run: python3 bench/fault_matrix.py --only approve,decline,close
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import common as c

from caisse_ap.simulator import KINDS

TIMEOUT = 30  # the payment timeout set on the methods (the minimum allowed)
AMOUNT = 12.34
JOURNAL = "pos.caisse.ap.transaction"

# Per simulator scenario: what the terminal does, the state the payment must
# end as, and a word the cashier must read.
EXPECTED = {
    "approve": ("approves", "success", ""),
    "decline": ("declines (AF=04)", "failure", "refused"),
    "red_button": ("red button (AE=01, no amount)", "failure", "refused"),
    "hang": ("never answers", "unknown", "unknown"),
    "close": ("closes without answering", "unknown", "unknown"),
    "garbage": ("answers bytes that are not Caisse-AP", "unknown", "unknown"),
    "split": ("approval in 3 segments", "success", ""),
    "drip": ("approval byte by byte", "success", ""),
    "oversize": ("approval padded past 64 KiB", "unknown", "unknown"),
    "wrong_echo": ("approval echoing another POS number (CA)", "unknown", "unknown"),
    "partial": ("approves half the amount", "success", "Partial payment"),
    "accepted": ("AE=11 (accepted, no result)", "unknown", "unknown"),
    "reset": ("half an approval, then TCP reset", "unknown", "unknown"),
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
        fields = ["state", "attempt", "error_message", "cancel_requested"]
        options = {"fields": fields, "order": "attempt asc"}
        domain = [["payment_uuid", "=", uuid]]
        return self.admin.call(JOURNAL, "search_read", [domain], options)

    def bus(self, uuid: str) -> list[str]:
        """States sent on the POS's bus channel for this payment, oldest first."""
        query = (
            "SELECT message FROM bus_bus WHERE message LIKE '%CAISSE_AP_TRANSACTION%' "
            f"AND message LIKE '%{uuid}%' ORDER BY id"
        )
        states = []
        for line in c.psql(self.db, query).splitlines():
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


class Run:
    """One payment of a case, as the POS makes it (``scenario`` queued, ``requests``
    expected); leaving the ``with`` fills the row: requests, journal, status, bus."""

    def __init__(self, stack: Stack, row: Row, lane: int, scenario=None, requests=1):
        self.stack, self.row, self.lane, self.requests = stack, row, lane, requests
        self.uuid = ""
        self.final: dict | None = None
        if scenario is not None:
            stack.terminals[lane].queue(scenario)

    def __enter__(self) -> Run:
        self.before = self.stack.requests(self.lane)
        self.started = time.time()
        return self

    def __exit__(self, kind, *_exc) -> None:
        if kind is not None:
            return
        row = self.row
        settled = self.stack.settle(self.lane, self.before + self.requests)
        row.requests = settled - self.before
        if row.requests != self.requests:
            row.problems.append(f"{row.requests} requests")
        row.seconds = time.time() - self.started
        self._journal()
        if self.final is not None:
            self._status()

    def start(self, amount: float = AMOUNT, **kwargs) -> dict:
        data, first = self.stack.start(self.lane, amount, **kwargs)
        self.uuid = data["payment_uuid"]
        return first

    def wait(self) -> dict | None:
        self.final = self.stack.wait(self.lane, self.uuid)
        return self.final

    def _journal(self) -> None:
        history = self.stack.journal(self.uuid)
        self.row.journal = " → ".join(h["state"] for h in history) or "(none)"
        reasons = [h["error_message"] for h in history if h["error_message"]]
        self.row.reason = _short(reasons[-1]) if reasons else ""
        if self.final is None:
            self.row.problems.append("no final state in time")
        elif history and history[-1]["state"] != self.final["state"]:
            self.row.problems.append("journal and status differ")

    def _status(self) -> None:
        row, final = self.row, self.final
        row.status, row.message = final["state"], final["message"]
        states = self.stack.bus(self.uuid)
        row.bus = " → ".join(states) if states else "none"
        if states and states[-1] != final["state"]:
            row.problems.append(
                f"last bus state {states[-1]} ≠ status {final['state']}"
            )
        if not states:
            row.problems.append("no bus notification")


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
    behaviour, expected, word = EXPECTED.get(kind, (kind, "?", ""))
    row = Row(label or kind, behaviour, expected)
    if kind not in EXPECTED:
        row.problems.append("no expectation for this new scenario: add it here")
    with Run(stack, row, lane, scenario or c.Scenario(kind)) as run:
        run.start(amount)
        final = run.wait()
        if kind == "hang":
            stack.terminals[lane].release_hang()
    if final:
        _check_scenario(row, kind, final, amount, word)
    return row


def _check_scenario(row: Row, kind: str, final: dict, amount: float, word: str):
    if final["state"] != row.expected:
        row.problems.append(f"expected {row.expected}")
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


def case_refund(stack: Stack, row: Row, lane: int = 0) -> Row:
    with Run(stack, row, lane) as run:
        run.start(-AMOUNT)
        final = run.wait()
    request = stack.terminals[lane].exchanges[-1]["request_fields"]
    if request.get("CD") != "1":
        row.problems.append(f"CD={request.get('CD')}")
    if final and (final["state"] != "success" or final["amount"] != -AMOUNT):
        row.problems.append(f"{final['state']} {final['amount']}")
    return row


def case_cancel(stack: Stack, row: Row, kind: str, lane: int = 0) -> Row:
    with Run(stack, row, lane, c.Scenario(kind, delay=3)) as run:
        run.start()
        time.sleep(0.5)
        cancelled = stack.cashier.caisse_ap_cancel(
            stack.lanes[lane]["method_id"], run.uuid
        )
        final = run.wait()
    if cancelled["state"] != "cancel_requested":
        row.problems.append(f"cancel gave {cancelled['state']}")
    if final and (final["state"] != row.expected or not final["cancel_requested"]):
        row.problems.append(
            f"{final['state']}, cancel flag {final['cancel_requested']}"
        )
    if kind == "approve" and final and "cancel" not in final["message"].lower():
        row.problems.append("the cashier is not told the cancel came too late")
    return row


def case_unreachable(stack: Stack, row: Row, lane: int) -> Row:
    with Run(stack, row, lane, requests=0) as run:
        run.start()
        final = run.wait()
    if final and (final["state"] != "error" or "not" not in final["message"]):
        row.problems.append(f"{final['state']}")
    return row


def case_busy(stack: Stack, row: Row, lane: int = 0) -> Row:
    refusal = ""
    with Run(stack, row, lane, c.Scenario("approve", delay=3)) as run:
        run.start()
        time.sleep(0.3)
        try:
            stack.start(lane)
            row.problems.append("second start accepted")
        except c.RpcError as error:
            refusal = error.message
        run.wait()
    row.status = f"second: UserError; first: {row.status}"
    row.message = f"second: {refusal}"
    if "busy" not in refusal:
        row.problems.append("refusal does not say busy")
    return row


def case_repeat(stack: Stack, row: Row, lane: int = 0) -> Row:
    with Run(stack, row, lane, c.Scenario("approve", delay=1)) as run:
        first = run.start()
        again = run.start(payment_uuid=run.uuid)
        run.wait()
        time.sleep(0.5)
    if again["transaction_id"] != first["transaction_id"]:
        row.problems.append("a second transaction was created")
    return row


def case_retry(stack: Stack, row: Row, lane: int = 0) -> Row:
    with Run(stack, row, lane, c.Scenario("close"), requests=2) as run:
        run.start()
        first = run.wait()
        stack.settle(lane, run.before + 1)
        run.start(payment_uuid=run.uuid)
        blind = stack.cashier.caisse_ap_status(stack.lanes[lane]["method_id"], run.uuid)
        retried = run.start(payment_uuid=run.uuid, retry=True)
        final = run.wait()
    if not first or first["state"] != "unknown":
        row.problems.append(f"first {first and first['state']}")
    if blind["attempt"] != 1 or blind["state"] != "unknown":
        row.problems.append("a start without retry sent again")
    if retried["attempt"] != 2 or not final or final["state"] != "success":
        row.problems.append("retry did not give attempt 2 success")
    return row


OPTIONS = (
    (
        "--only",
        "",
        "comma-separated scenario kinds and extra cases to run (default: all); "
        "extras: refund, cancel_red_button, cancel_paid, unreachable, busy, repeat, "
        "retry",
    ),
)


# The cases beyond the scenario kinds: the function and the row's case,
# terminal behaviour and expected outcome.
EXTRAS = {
    "refund": (case_refund, "refund", "approves a credit (CD=1)", "success"),
    "cancel_red_button": (
        partial(case_cancel, kind="red_button"),
        "cancel, then red button",
        "red button (AE=01, no amount) after 3 s",
        "failure",
    ),
    "cancel_paid": (
        partial(case_cancel, kind="approve"),
        "cancel, customer pays",
        "approves after 3 s",
        "success",
    ),
    "unreachable": (
        partial(case_unreachable, lane=1),
        "terminal unreachable",
        "nothing listens on the port",
        "error",
    ),
    "busy": (
        case_busy,
        "second payment on a busy terminal",
        "approves the first after 3 s",
        "refused, first success",
    ),
    "repeat": (
        case_repeat,
        "same payment started twice (POS reload)",
        "approves after 1 s",
        "success, 1 request",
    ),
    "retry": (
        case_retry,
        "retry after an unknown outcome",
        "closes without answering, then approves",
        "unknown → (no retry flag: nothing sent) → success",
    ),
}


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    wanted = c.listed(args.only)
    kinds = [k for k in KINDS if not wanted or k in wanted]
    extras = [name for name in EXTRAS if not wanted or name in wanted]
    rows: list[Row] = []
    with c.Bench("faults", args.template, args.keep) as bench:
        timeout = {"fr_caisse_ap_ip_timeout": TIMEOUT}
        db, terminals, lanes = bench.new_lanes("matrix", 2, None, timeout)
        terminals[1].stop()  # lane 2: nobody listens on its port any more
        server = bench.server(db)
        stack = Stack(bench, db, server, terminals, lanes)
        for kind in kinds:
            c.log(f"scenario {kind}")
            rows.append(scenario_case(stack, kind))
        for name in extras:
            c.log(f"case {name}")
            case, *texts = EXTRAS[name]
            rows.append(case(stack, Row(*texts)))
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
        "case | terminal | expected | journal | journal reason (technical) | status"
        " | cashier message | requests | bus | s | check",
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
    return rep.save(write=not args.no_write and not wanted)


if __name__ == "__main__":
    c.run_main(main)
