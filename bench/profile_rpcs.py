"""Where a start and a status spend their time on the server.

In one ``odoo shell``, each call under cProfile with Odoo's cursor timed
(SQL statements, their time, the Python around them); set-up and reading:
bench/README.md.

Run: python3 bench/profile_rpcs.py [--payments 20] [--statuses 5] [--pause 0.3]
"""

from __future__ import annotations

import json

import common as c

PROFILE = r"""
import cProfile, io, json, pstats, threading, time, uuid
from odoo.sql_db import Cursor

spec = json.loads(%(spec)r)
admin = env.ref("base.user_admin")
user_env = env(user=admin.id, su=False)
Method = user_env["pos.payment.method"]
sql = {"count": 0, "writes": 0, "seconds": 0.0, "by_statement": {}}
real_execute = Cursor.execute

rpc_thread = threading.get_ident()

def timed_execute(cr, query, params=None, log_exceptions=True):
    if threading.get_ident() != rpc_thread:  # the payment's worker thread
        return real_execute(cr, query, params, log_exceptions)
    started = time.perf_counter()
    try:
        return real_execute(cr, query, params, log_exceptions)
    finally:
        seconds = time.perf_counter() - started
        sql["count"] += 1
        sql["seconds"] += seconds
        text = " ".join(str(getattr(query, "code", query)).split())[:110]
        sql["writes"] += text.split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        count, total = sql["by_statement"].get(text, (0, 0.0))
        sql["by_statement"][text] = (count + 1, total + seconds)

Cursor.execute = timed_execute

def measured(calls):
    profile = cProfile.Profile()
    walls = []
    sql.update(count=0, writes=0, seconds=0.0, by_statement={})
    for call in calls:
        started = time.perf_counter()
        profile.enable()
        call()
        env.cr.commit()
        profile.disable()
        walls.append(time.perf_counter() - started)
        env.invalidate_all()
        time.sleep(spec["pause"])
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    stats.sort_stats("cumulative").print_stats(spec["top"])
    return {
        "walls": walls,
        "statements": sql["count"] / len(calls),
        "writes": sql["writes"] / len(calls),
        "sql_seconds": sql["seconds"] / len(calls),
        "slowest": sorted(
            ((total / len(calls), count / len(calls), text)
             for text, (count, total) in sql["by_statement"].items()),
            reverse=True,
        )[:spec["top_sql"]],
        "profile": stream.getvalue(),
    }

starts = []
for lane in spec["lanes"]:
    data = {
        "payment_uuid": str(uuid.uuid4()),
        "order_uuid": str(uuid.uuid4()),
        "amount": 12.5,
        "pos_session_id": lane["session_id"],
        "retry": False,
        "result_channel": "l10n_fr_pos_caisse_ap_ip.result." + uuid.uuid4().hex,
    }
    method = Method.browse(lane["method_id"])
    starts.append((method, data))

started = measured([lambda m=m, d=d: m.caisse_ap_start(d) for m, d in starts])
time.sleep(1.0)  # the workers have sent: the statuses read "sent" attempts
statuses = measured(
    [
        lambda m=m, d=d: m.caisse_ap_status(d["payment_uuid"])
        for m, d in starts
        for _ in range(spec["statuses"])
    ]
)
states = [m.caisse_ap_status(d["payment_uuid"])["state"] for m, d in starts]
env.cr.commit()
# The lanes' probe: what any RPC costs inside Odoo, for scale.
reads = measured(
    [
        lambda: user_env["res.users"].browse(admin.id).read(["name"])
        for _ in range(len(starts) * spec["statuses"])
    ]
)
result = {"start": started, "status": statuses, "read": reads, "states": states}
print("BENCH_PROFILE " + json.dumps(result))
"""


OPTIONS = (
    ("--payments", 20, "tills, each starting one payment"),
    ("--statuses", 5, "status calls per payment"),
    (
        "--pause",
        0.3,
        "seconds between two calls (0: each start meets the previous "
        "payment's thread at work in the same process)",
    ),
    ("--top", 15, "functions listed per RPC"),
    ("--top-sql", 10, "statements listed per RPC"),
)


def run(args) -> dict:
    with c.Bench("profile", template=args.template, keep=args.keep) as bench:
        scenario = c.Scenario("approve", delay=60)
        db, _terminals, lanes = bench.new_lanes("rpcs", args.payments, scenario)
        spec = {
            "lanes": lanes,
            "statuses": args.statuses,
            "pause": float(args.pause),
            "top": args.top,
            "top_sql": args.top_sql,
        }
        script = PROFILE % {"spec": json.dumps(spec)}
        return bench.shell_json(db, script, "BENCH_PROFILE") | {"pause": spec["pause"]}


def report(result: dict) -> c.Report:
    rep = c.Report("profile_rpcs", "RPC profile (bench/profile_rpcs.py)")
    rep.note(
        "In one `odoo shell` process, as the demo administrator; each call "
        f"committed, {result['pause']:g} s apart. *Python*: the call's time "
        "less its SQL time (mean). Times in ms as p50 / p95 / max (count)."
    )
    rows = []
    for name in ("start", "status", "read"):
        part = result[name]
        python = [wall - part["sql_seconds"] for wall in part["walls"]]
        rows.append(
            (
                name,
                c.span(part["walls"]),
                f"{part['statements']:.1f}",
                c.ms(part["sql_seconds"]),
                c.span(python),
            )
        )
    rep.table(
        ("RPC", "call (committed)", "SQL statements", "SQL ms (mean)", "Python ms"),
        rows,
    )
    rep.note(
        "*read*: the lanes' probe (the user's name), the same way. "
        + _ratios(result)
        + f" States after the statuses: {', '.join(sorted(set(result['states'])))}."
    )
    _checks(rep, result)
    for name in ("start", "status"):
        rep.table(
            ("ms per call", "times per call", "statement"),
            [
                (f"{seconds * 1000:.2f}", f"{count:g}", f"`{text}`")
                for seconds, count, text in result[name]["slowest"]
            ],
            f"The {name}'s SQL, most expensive first",
        )
    for name in ("start", "status"):
        listing = result[name]["profile"].strip()
        title = f"**cProfile of the {name} calls, by cumulative time**"
        rep.note(f"{title}\n\n```\n{listing}\n```")
    return rep


def _ratios(result: dict) -> str:
    """The lanes' server-time ratios to the read, as this process sees them."""
    read = result["read"]["walls"]
    parts = []
    for name in ("start", "status"):
        walls = result[name]["walls"]
        parts.append(
            f"{name} / read: "
            f"{c.percentile(walls, 0.5) / c.percentile(read, 0.5):.1f}x at p50, "
            f"{c.percentile(walls, 0.95) / c.percentile(read, 0.95):.1f}x at p95"
        )
    return "; ".join(parts) + " (cProfile adds to every call)."


def _checks(rep: c.Report, result: dict) -> None:
    """The shape the RPCs must keep: a status only reads, a start writes its row."""
    rep.check(
        "every payment still with the terminal when its statuses were read",
        set(result["states"]) == {"sent"},
        ", ".join(sorted(set(result["states"]))),
    )
    rep.check(
        "a status writes nothing",
        result["status"]["writes"] == 0,
        f"{result['status']['writes']:g} writes per call",
    )
    rep.check(
        "a start writes one row (its attempt) and nothing else",
        result["start"]["writes"] == 1,
        f"{result['start']['writes']:g} writes per call",
    )


def main() -> int:
    args = c.parse_args(__doc__, OPTIONS)
    return report(run(args)).save(write=not args.no_write)


if __name__ == "__main__":
    c.run_main(main)
