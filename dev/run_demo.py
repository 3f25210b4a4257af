"""The README's demo command: a POS that pays by card against the terminal simulator.

Creates (or reuses) a demo database with the Point of Sale demo data, installs
(or updates) this addon, adds a "Card (Caisse-AP)" payment method to the demo
shop pointing at the simulator on 127.0.0.1, starts the simulator and Odoo.

With --relay, the method goes "through a shop relay" and a local relay
(python -m caisse_ap.relay) carries its exchanges, as for a cloud-hosted Odoo;
it is paired as a shop's machine is (``pair`` with a code Odoo made).

With --kiosk, the self-order kiosk bridge is installed too, and a kiosk POS
("Kiosk (Caisse-AP)") pays on a terminal of its own (a second simulator, on
the next port); its session is opened and its address printed.

Usage: python3 dev/run_demo.py [--db NAME] [--http-port 8069] [--terminal-port 8888]
                                 [--relay] [--kiosk]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from odoo_setup import ensure_odoo
from prerequisites import (
    ADDON,
    REPO,
    SELF_ORDER_BRIDGE,
    SetupError,
    Workspace,
    database_exists,
    ensure_postgresql,
    log,
)

# Run inside `odoo shell`: idempotent, so that a second `make demo` changes nothing.
CONFIGURE_SHOP = """
# The simulator listens on 127.0.0.1, a loopback address refused by default.
env["ir.config_parameter"].set_param(
    "l10n_fr_pos_caisse_ap_ip.allow_local_terminals", "1"
)
config = env.ref("point_of_sale.pos_config_main")
Method = env["pos.payment.method"]
method = Method.search([("name", "=", "Card (Caisse-AP)")], limit=1)
values = {{"name": "Card (Caisse-AP)", "use_payment_terminal": "fr-caisse_ap_ip"}}
terminal = {{
    "fr_caisse_ap_ip_address": "127.0.0.1",
    "fr_caisse_ap_ip_port": {port},
    "fr_caisse_ap_ip_mode": "card",
}}
values.update({{k: v for k, v in terminal.items() if k in Method._fields}})
if not method:
    journal = env["account.journal"].search(
        [("type", "=", "bank"), ("company_id", "=", config.company_id.id)], limit=1
    )
    method = Method.create(dict(values, journal_id=journal.id))
elif not config.current_session_id:
    method.write(values)
if method not in config.payment_method_ids and not config.current_session_id:
    config.payment_method_ids = [(4, method.id)]
if {relay}:
    Relay = env["pos.caisse.ap.relay"]
    relay = Relay.search([("name", "=", "Demo shop relay")], limit=1) or Relay.create(
        {{"name": "Demo shop relay", "company_id": config.company_id.id}}
    )
    # Paired anew at each run, as a shop's machine is: a code, no token shown.
    action = relay.action_caisse_ap_pairing_code()
    print("CAISSE_AP_DEMO_PAIRING_CODE", action["context"]["default_code"])
    connection = {{
        "fr_caisse_ap_ip_connection": "relay", "fr_caisse_ap_relay_id": relay.id
    }}
else:
    connection = {{"fr_caisse_ap_ip_connection": "direct"}}
if "fr_caisse_ap_ip_connection" in Method._fields:
    method.write(connection)  # live-editable: even with a session open
env.cr.commit()
print("CAISSE_AP_DEMO_METHOD", method.id, config.name)
"""

# Run inside `odoo shell` after CONFIGURE_SHOP, with --kiosk: idempotent too.
CONFIGURE_KIOSK = """
Method = env["pos.payment.method"]
main = Method.search([("name", "=", "Card (Caisse-AP)")], limit=1)
method = Method.search([("name", "=", "Kiosk card (Caisse-AP)")], limit=1)
if not method:
    method = main.copy({{"name": "Kiosk card (Caisse-AP)"}})
method.write({{"fr_caisse_ap_ip_port": {port}}})  # its own terminal
method.write({{
    "fr_caisse_ap_ip_connection": main.fr_caisse_ap_ip_connection,
    "fr_caisse_ap_relay_id": main.fr_caisse_ap_relay_id.id,
}})
Config = env["pos.config"]
kiosk = Config.search([("name", "=", "Kiosk (Caisse-AP)")], limit=1)
if not kiosk:
    kiosk = Config.create({{
        "name": "Kiosk (Caisse-AP)",
        "self_ordering_mode": "kiosk",
        "self_ordering_pay_after": "each",
        "self_ordering_service_mode": "counter",
        "self_ordering_default_user_id": env.ref("base.user_admin").id,
        "payment_method_ids": [(6, 0, method.ids)],
    }})
if not kiosk.current_session_id:
    kiosk.with_user(env.ref("base.user_admin")).open_ui()
    kiosk.current_session_id.set_opening_control(0, "")
env.cr.commit()
print("CAISSE_AP_DEMO_KIOSK", kiosk._get_self_order_route())
"""


def prepare_database(workspace, db_name, terminal_port, relay=False, kiosk=False):
    """Set the demo shop up: ``(shop, relay pairing code or None, kiosk path or
    None)``."""
    addons = f"{ADDON},{SELF_ORDER_BRIDGE}" if kiosk else ADDON
    if database_exists(db_name):
        log(f"reusing database {db_name}: updating {ADDON}")
        workspace.odoo(
            "-d", db_name, "-u", ADDON, "--stop-after-init", "--log-level=warn"
        )
        if kiosk:  # installed when first asked for, updated after
            workspace.odoo(
                "-d", db_name, "-i", SELF_ORDER_BRIDGE, "-u", SELF_ORDER_BRIDGE,
                "--stop-after-init", "--log-level=warn",
            )  # fmt: skip
    else:
        log(f"creating database {db_name} with the POS demo data (about 2 minutes)")
        workspace.odoo(
            "-d", db_name, "-i", f"point_of_sale,{addons}", "--stop-after-init",
            "--log-level=warn",
        )  # fmt: skip
    script = CONFIGURE_SHOP.format(port=terminal_port, relay=relay)
    if kiosk:
        script += CONFIGURE_KIOSK.format(port=terminal_port + 1)
    out = workspace.odoo(
        "-d", db_name, "--log-level=warn", command="shell",
        input=script, capture_output=True, text=True, check=False,
    )  # fmt: skip
    marker = re.search(r"^CAISSE_AP_DEMO_METHOD \d+ (.+)$", out.stdout, re.MULTILINE)
    if not marker:
        print(out.stdout[-3000:], out.stderr[-3000:])
        raise SetupError("could not add the Caisse-AP payment method to the demo shop")
    code = re.search(r"^CAISSE_AP_DEMO_PAIRING_CODE (\S+)$", out.stdout, re.MULTILINE)
    kiosk_path = re.search(r"^CAISSE_AP_DEMO_KIOSK (\S+)$", out.stdout, re.MULTILINE)
    if kiosk and not kiosk_path:
        print(out.stdout[-3000:], out.stderr[-3000:])
        raise SetupError("could not set the demo kiosk up")
    return (
        marker.group(1),
        code.group(1) if code else None,
        kiosk_path.group(1) if kiosk_path else None,
    )


def pair_relay(http_port, code, env_file):
    """Pair the shop relay as a shop's machine does: its command reads the
    code and writes the relay's environment file (the token is never shown)."""
    log(f"pairing the shop relay with the code {code}")
    subprocess.run(
        [sys.executable, "-m", "caisse_ap.relay", "pair", "--server",
         f"http://127.0.0.1:{http_port}", "--env-file", str(env_file)],
        input=code + "\n", text=True, cwd=REPO, check=True,
    )  # fmt: skip


def start_relay(env_file):
    """The shop relay, as a shop would run it, towards this Odoo (localhost:
    HTTP), with the environment its file gives (as systemd would)."""
    log("starting the shop relay: the payments go through it")
    variables = dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
    )
    return subprocess.Popen(
        [sys.executable, "-m", "caisse_ap.relay", "--server",
         variables["CAISSE_AP_RELAY_SERVER"]],
        cwd=REPO, env=dict(os.environ, **variables),
    )  # fmt: skip


def start_simulator(terminal_port):
    if not (REPO / "caisse_ap" / "simulator" / "__main__.py").exists():
        log("the terminal simulator is not in this version yet: no terminal is started")
        return None
    log(f"starting the terminal simulator on 127.0.0.1:{terminal_port}")
    return subprocess.Popen(
        [sys.executable, "-m", "caisse_ap.simulator", "--port", str(terminal_port)],
        cwd=REPO,
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--db", default=os.environ.get("CAISSE_AP_DEMO_DB", "caisse_ap_demo")
    )
    parser.add_argument("--http-port", type=int, default=8069)
    parser.add_argument("--terminal-port", type=int, default=8888)
    parser.add_argument(
        "--relay",
        action="store_true",
        help="reach the terminal through a local shop relay, as a cloud Odoo would",
    )
    parser.add_argument(
        "--kiosk",
        action="store_true",
        help="also a self-order kiosk paying on its own simulated terminal",
    )
    args = parser.parse_args()

    try:
        odoo_root = ensure_odoo()
        ensure_postgresql()
        # The demo keeps its filestore between runs, next to the reused database.
        home = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
        workspace = Workspace(odoo_root, "caisse_ap_demo", home / f"{ADDON}-demo")
        workspace.write_config(args.db, http_port=args.http_port)
        shop, pairing_code, kiosk_path = prepare_database(
            workspace, args.db, args.terminal_port, args.relay, args.kiosk
        )
    except (SetupError, subprocess.CalledProcessError) as exc:
        log(f"cannot start the demo: {exc}")
        return 2

    simulators = [start_simulator(args.terminal_port)]
    if kiosk_path:
        simulators.append(start_simulator(args.terminal_port + 1))
    server = workspace.odoo_process("-d", args.db, "--log-level=info")
    relay = None
    try:
        warm_up(args.http_port, server)
        if pairing_code:
            env_file = workspace.path / "caisse-ap-relay.env"
            pair_relay(args.http_port, pairing_code, env_file)
            relay = start_relay(env_file)
        log(
            f"Odoo: http://localhost:{args.http_port}/pos/ui"
            "  (login admin, password admin)"
        )
        log(
            f"open '{shop}', add a product, pay with 'Card (Caisse-AP)'; "
            "Ctrl-C stops all"
        )
        if kiosk_path:
            log(f"kiosk: http://localhost:{args.http_port}{kiosk_path}")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        # The relay first: it posts what it is running while Odoo still listens.
        for process in (relay, server, *simulators):
            if process and process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
    return 0


def warm_up(http_port, server, timeout=120):
    """One request at a time until Odoo answers, before a browser is pointed at it.

    A browser's first burst of parallel requests would make several threads parse
    the addons' manifests at once, which CPython 3.11 does not survive (gh-106905):
    a static file, then the login page, compute those caches in one thread.
    """
    base = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + timeout
    for path in ("/web/static/img/favicon.ico", "/web/login"):
        while True:
            if server.poll() is not None:
                raise SetupError(f"Odoo stopped (exit {server.returncode})")
            try:
                with urllib.request.urlopen(base + path, timeout=30):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SetupError(
                        f"Odoo did not answer {path} in {timeout} s"
                    ) from None
                time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
