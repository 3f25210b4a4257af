"""One benchmark run's databases: the template, copies of it, lanes, clean-up.

A Bench owns everything a run makes (work folder, databases, Odoo servers,
simulated terminals) and removes it all at the end, even on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from odoo_server import OdooServer
from settings import ADDON, HOST, TERMINAL_KEY, log, prerequisites

from caisse_ap.simulator import MultiTerminalSimulator, Scenario


# -- databases ----------------------------------------------------------------
class Bench:
    """One run: a workspace, a template database, the databases made from it."""

    def __init__(
        self,
        prefix: str,
        template: str = "",
        keep: bool = False,
        addon_dir: Path | None = None,
        modules: Sequence[str] = (),
    ) -> None:
        """``addon_dir``: the folder installed as the addon instead of this
        repository (another module with the same technical name); ``modules``:
        more addons installed with it (a bridge)."""
        self.modules = ",".join([ADDON, *modules])
        self.odoo_root = prerequisites.check_odoo()
        prerequisites.ensure_postgresql()
        self.prefix = prefix
        self.stamp = f"{time.strftime('%Y%m%d_%H%M%S')}_{os.getpid()}"
        self.workspace = prerequisites.Workspace(
            self.odoo_root, f"caisse_ap_bench_{prefix}"
        )
        if addon_dir is not None:
            self.workspace.addon.unlink()
            self.workspace.addon.symlink_to(addon_dir, target_is_directory=True)
        self.workspace.write_config(f"caisse_ap_bench_{prefix}")
        self.keep = keep
        self.template = template
        self.own_template = not template
        self.databases: list[str] = []
        self.servers: list[OdooServer] = []
        self.simulators: list[MultiTerminalSimulator] = []

    # The template: the addon installed with the demo data, once per run.
    def build_template(self) -> str:
        if self.template:
            if not prerequisites.database_exists(self.template):
                raise RuntimeError(f"template database {self.template} does not exist")
            log(f"using the existing template database {self.template}")
            return self.template
        # The prefix keeps apart the templates of two benches in one run.
        self.template = f"caisse_ap_bench_tpl_{self.prefix}_{self.stamp}"[:63]
        self.databases.append(self.template)
        log(
            f"building the template {self.template}: {ADDON} with demo data "
            "(about 2 min)"
        )
        started = time.monotonic()
        install = ["-d", self.template, "-i", self.modules, "--stop-after-init"]
        install += ["--log-level=warn", f"--db-filter=^{self.template}$"]
        out = self.workspace.odoo(*install, capture_output=True, text=True, check=False)
        output = out.stdout + "\n" + out.stderr
        errors = [line for line in output.splitlines() if " ERROR " in line]
        if out.returncode or errors:
            tail = output[-4000:]
            raise RuntimeError(
                f"installing {self.modules} failed (exit {out.returncode}):\n{tail}"
            )
        log(f"template built in {time.monotonic() - started:.0f} s")
        return self.template

    def new_database(self, label: str) -> str:
        name = f"caisse_ap_bench_{self.prefix}_{label}_{self.stamp}"[:63]
        subprocess.run(["createdb", "-T", self.template, name], check=True)
        self.databases.append(name)
        source = self.workspace.data_dir / "filestore" / self.template
        target = self.workspace.data_dir / "filestore" / name
        if source.is_dir() and not target.exists():
            shutil.copytree(source, target)
        return name

    def server(self, db: str, **kwargs: Any) -> OdooServer:
        """An Odoo server on ``db``, started (stopped at the end of the run)."""
        server = OdooServer(self.workspace, db, **kwargs)
        self.servers.append(server)
        server.start()
        return server

    def terminals(
        self, count: int, scenario: Scenario | None = None, **options: Any
    ) -> MultiTerminalSimulator:
        group = MultiTerminalSimulator(count, HOST, 0, scenario, **options)
        group.start()
        self.simulators.append(group)
        return group

    def new_lanes(
        self,
        label: str,
        count: int,
        scenario: Scenario | None = None,
        method_values: dict[str, Any] | None = None,
        **options: Any,
    ) -> tuple[str, MultiTerminalSimulator, list[dict[str, Any]]]:
        """A new database with a lane on each of ``count`` new simulated
        terminals (see :func:`setup_lanes`): the database, terminals and lanes."""
        db = self.new_database(label)
        terminals = self.terminals(count, scenario, **options)
        return db, terminals, setup_lanes(self, db, terminals.ports, method_values)

    def shell(self, db: str, script: str, timeout: float = 600) -> str:
        config = str(self.workspace.config)
        # The sub-command comes first (Workspace.odoo() puts -c before it).
        command = [sys.executable, "-m", "odoo", "shell", "-c", config, "-d", db]
        command += [f"--db-filter=^{db}$", "--log-level=warn", "--no-http"]
        out = subprocess.run(
            command,
            env=self.workspace.env(),
            input=script,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if out.returncode:
            raise RuntimeError(
                f"odoo shell failed ({out.returncode}):\n{out.stderr[-4000:]}"
            )
        return out.stdout + "\n" + out.stderr

    def shell_json(self, db: str, script: str, marker: str) -> Any:
        """Run ``script`` in ``odoo shell``: the JSON it printed after ``marker``."""
        out = self.shell(db, script)
        for line in out.splitlines():
            if line.startswith(marker + " "):
                return json.loads(line.split(" ", 1)[1])
        raise RuntimeError(f"no {marker} line in the shell's output:\n{out[-4000:]}")

    def cleanup(self) -> None:
        for server in self.servers:
            with contextlib.suppress(Exception):
                server.stop()
        for group in self.simulators:
            with contextlib.suppress(Exception):
                group.stop()
        if self.keep:
            log(f"kept: {', '.join(self.databases)} and {self.workspace.path}")
            return
        for name in reversed(self.databases):
            if name == self.template and not self.own_template:
                continue
            prerequisites.drop_database(name, self.workspace.data_dir)
        self.workspace.cleanup()
        log(f"dropped {len(self.databases)} database(s) and the work folder")

    def __enter__(self) -> Bench:
        """The run starts with its template (built, or the one given)."""
        try:
            self.build_template()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


# The lanes: one POS config, open session and payment method per terminal.
SETUP_LANES = r"""
import json
spec = json.loads(%(spec)r)
Method = env["pos.payment.method"]
Config = env["pos.config"]
Session = env["pos.session"]
company = env.ref("base.main_company")
admin = env.ref("base.user_admin")
bank = env["account.journal"].search(
    [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1
)
# The simulators listen on 127.0.0.1, a loopback address refused by default.
env["ir.config_parameter"].set_param(
    "l10n_fr_pos_caisse_ap_ip.allow_local_terminals", "1"
)
lanes, missing = [], set()
for index, port in enumerate(spec["ports"]):
    values = {
        "name": "Bench Caisse-AP %%d" %% (index + 1),
        "payment_method_type": "terminal",
        "use_payment_terminal": spec["terminal_key"],
        "journal_id": bank.id,
    }
    terminal = dict(spec["method_values"])
    terminal["fr_caisse_ap_ip_address"] = "127.0.0.1"
    terminal["fr_caisse_ap_ip_port"] = port
    # The fault matrix's refund row credits a card without an original order.
    terminal.setdefault("fr_caisse_ap_ip_allow_unreferenced_refund", True)
    missing |= {key for key in terminal if key not in Method._fields}
    values.update({k: v for k, v in terminal.items() if k in Method._fields})
    method = Method.create(values)
    config = Config.create({
        "name": "Bench lane %%d" %% (index + 1),
        "payment_method_ids": [(6, 0, [method.id])],
    })
    session = Session.create({"config_id": config.id, "user_id": admin.id})
    session.set_opening_control(0, "")
    lanes.append({
        "index": index, "port": port, "method_id": method.id, "config_id": config.id,
        "session_id": session.id, "currency": config.currency_id.name,
        # One amount per lane (10.00, 10.01, ...): a request shows whose it is.
        "minor": 1000 + index, "amount": (1000 + index) / 100,
    })
env.cr.commit()
print("BENCH_LANES " + json.dumps({"lanes": lanes, "missing": sorted(missing)}))
"""


def setup_lanes(
    bench: Bench,
    db: str,
    ports: Sequence[int],
    method_values: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Create a payment method, a POS config and an open session per terminal port."""
    spec = {
        "ports": list(ports),
        "terminal_key": TERMINAL_KEY,
        "method_values": {"fr_caisse_ap_ip_mode": "card", **(method_values or {})},
    }
    started = time.monotonic()
    script = SETUP_LANES % {"spec": json.dumps(spec)}
    data = bench.shell_json(db, script, "BENCH_LANES")
    if data["missing"]:
        log(
            "payment method fields not found (back end not there yet?): "
            + ", ".join(data["missing"])
        )
    log(f"{len(data['lanes'])} lane(s) set up in {time.monotonic() - started:.0f} s")
    return data["lanes"]


# ``count`` relays, each with its token (shown once); every lane's method goes
# through the first one (one shop and its tills).
SETUP_RELAYS = r"""
import json
method_ids = json.loads(%(method_ids)r)
relays = []
for index in range(%(count)d):
    relay = env["pos.caisse.ap.relay"].create({"name": "Bench shop %%d" %% index})
    token = relay.action_new_token()["context"]["default_token"]
    relays.append({"id": relay.id, "token": token})
env["pos.payment.method"].browse(method_ids).write(
    {"fr_caisse_ap_ip_connection": "relay", "fr_caisse_ap_relay_id": relays[0]["id"]}
)
env.cr.commit()
print("BENCH_RELAYS " + json.dumps(relays))
"""


def setup_relays(bench: Bench, db: str, lanes, count: int = 1) -> list[dict[str, Any]]:
    """``count`` shop relays (id, token); the lanes' methods through the first."""
    method_ids = json.dumps([lane["method_id"] for lane in lanes])
    script = SETUP_RELAYS % {"method_ids": method_ids, "count": count}
    return bench.shell_json(db, script, "BENCH_RELAYS")
