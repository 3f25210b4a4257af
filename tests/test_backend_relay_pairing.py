"""A fresh relay machine pairs with the code Odoo shows, then pays: the real
programs (``python -m caisse_ap.relay pair``, then the relay) against this
test's HTTP server."""

import stat
import subprocess
import sys
import time
from pathlib import Path

from odoo import SUPERUSER_ID, api
from odoo.tests import HttpCase, tagged

from ..caisse_ap.relay_pairing import SERVER_VARIABLE, TOKEN_VARIABLE
from .common import CaisseApCommon
from .relay_support import ADDON_DIR, RELAY_TIMEOUT, RelayMethodMixin, RelayProcessMixin


@tagged("post_install", "-at_install")
class TestRelayPairing(RelayProcessMixin, RelayMethodMixin, CaisseApCommon, HttpCase):
    def run_pair(self, code, env_file):
        """The command of the dialog, as root runs it on the relay's machine,
        the code given on its standard input."""
        self.env.flush_all()
        return subprocess.run(
            [sys.executable, "-m", "caisse_ap.relay", "pair"]
            + ["--server", self.base_url(), "--env-file", str(env_file)],
            input=code + "\n",
            cwd=ADDON_DIR,
            capture_output=True,
            text=True,
            timeout=RELAY_TIMEOUT,
            check=False,
        )

    def state(self, transaction_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return env["pos.caisse.ap.transaction"].browse(transaction_id).state

    def test_a_paired_relay_pays_and_the_token_is_never_shown(self):
        action = self.relay.with_user(self.pos_manager).action_caisse_ap_pairing_code()
        env_file = Path(self.relay_state_dir) / "caisse-ap-relay.env"
        done = self.run_pair(action["context"]["default_code"], env_file)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("Shop relay", done.stdout)
        self.assertEqual(stat.S_IMODE(env_file.stat().st_mode), 0o600)
        variables = dict(
            line.split("=", 1) for line in env_file.read_text().splitlines()
        )
        self.assertEqual(variables[SERVER_VARIABLE], self.base_url())
        token = variables[TOKEN_VARIABLE]
        self.assertNotIn(token, done.stdout + done.stderr)
        self.env.invalidate_all()
        self.assertEqual(
            self.env["pos.caisse.ap.relay"]._caisse_ap_authenticate(token), self.relay
        )
        # The same code again: used.
        again = self.run_pair(action["context"]["default_code"], env_file)
        self.assertEqual(again.returncode, 1)
        self.assertIn("wrong, expired or used code", again.stderr)
        self.assertEqual(env_file.read_text().count(token), 1, "file unchanged")
        # The relay runs with what the file holds, as systemd gives it.
        self.start_relay(token, self.relay)
        started = self.start(4.2)
        deadline = time.monotonic() + RELAY_TIMEOUT
        while self.state(started["transaction_id"]) in ("pending", "sent"):
            self.assertLess(time.monotonic(), deadline, "the relay never paid")
            time.sleep(0.05)
        self.assertEqual(self.state(started["transaction_id"]), "success")
        self.assertNotIn(token, self.stop_relay())
