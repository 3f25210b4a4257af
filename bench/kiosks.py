"""Kiosks and tills benchmark: K self-order kiosks and T tills pay at the same moment.

Tills as in lanes.py, kiosks through /kiosk/payment like the kiosk's page;
goals and tables: bench/README.md.

Small run: python3 bench/kiosks.py --kiosks 2 --tills 2 --delay 5
"""

from __future__ import annotations

import json
import time
import uuid
from functools import partial
from typing import Any

import common as c
import lanes as till_lanes
from settings import SELF_ORDER_BRIDGE

PROBE_GOAL = 0.250  # seconds, probe p95 during the storm

# Run inside `odoo shell`: the last lanes' POS become kiosks (counter service,
# pay after each order); one product to sell, priced by the server.
SETUP_KIOSKS = r"""
import json
spec = json.loads(%(spec)r)
admin = env.ref("base.user_admin")
product = env["product.product"].search(
    [("available_in_pos", "=", True), ("list_price", ">", 1)], order="id", limit=1
)
kiosks = []
for config in env["pos.config"].browse(spec["config_ids"]):
    config.write({
        "self_ordering_mode": "kiosk",
        "self_ordering_pay_after": "each",
        "self_ordering_service_mode": "counter",
        "self_ordering_default_user_id": admin.id,
    })
    config._ensure_access_token()
    taxes = product.taxes_id.compute_all(
        product.lst_price, config.currency_id, 1, product
    )
    kiosks.append({
        "config_id": config.id, "access_token": config.access_token,
        "minor": round(taxes["total_included"] * 100),
    })
env.cr.commit()
print("BENCH_KIOSKS " + json.dumps({
    "product_id": product.id, "price": product.lst_price, "kiosks": kiosks,
}))
"""


OPTIONS = (
    ("--kiosks", 20, "self-order kiosks"),
    ("--tills", 20, "tills"),
    c.customer_delay(20.0),
    ("--kiosk-poll", 5.0, "kiosk status poll interval, like the kiosk's page"),
    *c.till_polls(1.0, 6.0),
)


def setup_kiosks(bench: c.Bench, db: str, kiosk_lanes) -> dict[str, Any]:
    spec = {"config_ids": [lane["config_id"] for lane in kiosk_lanes]}
    script = SETUP_KIOSKS % {"spec": json.dumps(spec)}
    data = bench.shell_json(db, script, "BENCH_KIOSKS")
    for lane, kiosk in zip(kiosk_lanes, data["kiosks"], strict=True):
        lane.update(kiosk)
    return data


def order_values(lane, product: dict[str, Any]) -> dict[str, Any]:
    """The order as the kiosk's page posts it (its prices are the kiosk's claim:
    the server prices it again)."""
    price = product["price"]
    line = {
        "uuid": str(uuid.uuid4()),
        "product_id": product["product_id"],
        "qty": 1,
        "price_unit": price,
        "price_subtotal": price,
        "price_subtotal_incl": price,
        "tax_ids": [],
    }
    return {
        "uuid": str(uuid.uuid4()),
        "session_id": lane["session_id"],
        "lines": [[0, 0, line]],
        "amount_total": price,
        "amount_tax": 0,
        "amount_paid": 0,
        "amount_return": 0,
    }


def run_kiosk(lane, product, session: c.Session, args, barrier, result) -> None:
    step = "start"  # what the kiosk was asking when an error came
    result["network_errors"] = errors = []
    try:
        barrier.wait(timeout=120)
        config = lane["config_id"]
        result["sent"] = time.time()
        request = {
            "order": order_values(lane, product),
            "access_token": lane["access_token"],
            "payment_method_id": lane["method_id"],
            "caisse_ap_start_key": uuid.uuid4().hex,
        }
        # The same request again after a network error, like the kiosk's page.
        order = till_lanes.start_with_retries(
            lambda: session.post(f"/kiosk/payment/{config}/kiosk", request), errors
        )["order"][0]
        result["started"] = time.time()
        step = "status"
        deadline = time.monotonic() + args.delay + 120
        while time.monotonic() < deadline:
            time.sleep(args.kiosk_poll)
            status = session.post(
                f"/kiosk/caisse_ap/status/{config}",
                {
                    "access_token": lane["access_token"],
                    "order_access_token": order["access_token"],
                },
            )
            if status["caisse_ap"]["final"]:
                result.update(final=status, seen=time.time())
                return
        result["error"] = "no final outcome in time"
    except Exception as error:  # reported in the table
        result["error"] = f"{step}: {type(error).__name__}: {error}"


def kiosk_problem(lane, result, terminal) -> str:
    if result.get("error"):
        return result["error"]
    status = result["final"]
    if status["payment_result"] != "Success":
        return f"not paid: {status['caisse_ap']['outcome']}"
    requests = [ex["request_fields"].get("CB") for ex in terminal.exchanges]
    if requests != [str(lane["minor"])]:
        return f"terminal requests {requests}, expected one of {lane['minor']}"
    return ""


def run(bench: c.Bench, args) -> dict[str, Any]:
    count = args.kiosks + args.tills
    scenario = c.Scenario("approve", delay=args.delay)
    db, terminals, lanes = bench.new_lanes("kiosks", count, scenario)
    tills, kiosks = lanes[: args.tills], lanes[args.tills :]
    product = setup_kiosks(bench, db, kiosks)
    server = bench.server(db)
    sessions = c.authenticate_many(server.http_port, db, len(tills))
    probe = c.Prober(c.warm_session(server), 0.5, args.delay + 300)
    probe.start()
    time.sleep(5)
    results = [{} for _ in lanes]
    payers = [
        partial(till_lanes.run_lane, lane, session, args)
        for lane, session in zip(tills, sessions, strict=True)
    ] + [
        partial(run_kiosk, lane, product, c.Session(server.http_port, db), args)
        for lane in kiosks
    ]
    storm_start = c.pay_together(payers, results, args.delay + 240)
    storm_end = time.time()
    probe.stopping.set()
    problems = []
    for lane, result in zip(lanes, results, strict=True):
        terminal = terminals[lane["index"]]
        problem = (
            till_lanes.check_lane(lane, result, terminal)
            if lane in tills
            else kiosk_problem(lane, result, terminal)
        )
        if problem:
            problems.append(f"lane {lane['index']}: {problem}")
    finals = [r.get("final", {}) for r in results]
    kiosk_results = results[args.tills :]
    return {
        "tills": len(tills),
        "kiosks": len(kiosks),
        "problems": problems,
        "paid_tills": sum(f.get("state") == "success" for f in finals[: args.tills]),
        "paid_kiosks": sum(
            f.get("payment_result") == "Success" for f in finals[args.tills :]
        ),
        "probe": probe.between(storm_start, storm_end),
        "seen": [r["seen"] - r["sent"] for r in results if "seen" in r and "sent" in r],
        "kiosks_repeated": sum(bool(r.get("network_errors")) for r in kiosk_results),
    }


def report(result: dict[str, Any], args) -> c.Report:
    rep = c.Report("kiosks", "Kiosks and tills paying at once, 2 HTTP workers")
    probe = result["probe"]
    rep.table(
        "tills | kiosks | tills approved | kiosk orders paid | kiosk requests repeated"
        " | outcome seen p95",
        [
            (
                result["tills"],
                result["kiosks"],
                result["paid_tills"],
                result["paid_kiosks"],
                result.get("kiosks_repeated", 0),
                c.ms(c.percentile(result["seen"], 0.95)) if result["seen"] else "-",
            )
        ],
    )
    rep.table(
        ("probe during the storm", "samples", "median", "p95", "max"),
        [("read of the user's name, ms", *c.summary_ms(probe))],
    )
    for problem in result["problems"]:
        rep.note(f"- {problem}")
    rep.check(
        "every till and kiosk payment approved once, every kiosk order paid",
        not result["problems"],
        f"{len(result['problems'])} problem(s)",
    )
    p95 = c.percentile(probe, 0.95) if probe else float("inf")
    rep.check(
        f"probe p95 < {c.ms(PROBE_GOAL)} during the storm",
        p95 < PROBE_GOAL,
        c.ms(p95),
    )
    return rep


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    bridge = [SELF_ORDER_BRIDGE]
    with c.Bench("kiosks", args.template, args.keep, modules=bridge) as bench:
        result = run(bench, args)
    return report(result, args).save(write=not args.no_write)


if __name__ == "__main__":
    c.run_main(main)
