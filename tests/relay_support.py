"""A real shop relay process (python -m caisse_ap.relay) for HttpCase tests."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

ADDON_DIR = Path(__file__).resolve().parents[1]
RELAY_TIMEOUT = 60  # liveness only
# What a relay of this version says of itself when it polls.
SEEN = {"version": "2.1", "protocol": 3, "waiting": 0, "last_error": ""}


def new_relay(env, name, **values):
    """A relay and its token (as shown once by the token wizard)."""
    relay = env["pos.caisse.ap.relay"].create({"name": name, **values})
    return relay, new_token(relay)


def new_token(relay):
    action = relay.action_new_token()
    # The relay's requests read the database, not this test's ORM cache.
    relay.env.flush_all()
    return action["context"]["default_token"]


class RelayMethodMixin:
    """The test's Caisse-AP method goes through a shop relay (cls.relay, whose
    token is cls.token)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.relay, cls.token = new_relay(cls.env, "Shop relay")
        cls.method.write(
            {
                "fr_caisse_ap_ip_connection": "relay",
                "fr_caisse_ap_relay_id": cls.relay.id,
            }
        )


class RelayProcessMixin:
    """Start and stop the relay program against this test's HTTP server."""

    def setUp(self):
        super().setUp()
        self.relay_process = None
        # The relay keeps undelivered outcomes there; a restarted one finds them.
        self.relay_state_dir = tempfile.mkdtemp(prefix="caisse_ap_relay_")
        self.addCleanup(shutil.rmtree, self.relay_state_dir, True)
        self.addCleanup(self.stop_relay)

    def _test_lock(self):
        return getattr(self.registry, "test_lock", None) or contextlib.nullcontext()

    def authenticate(self, *args, **kwargs):
        # In test mode the relay's requests share this test's cursor, and only
        # they take the test lock: the test thread logging the browser in
        # (flush, bus precommit) must keep them out, or the two threads'
        # queries interleave on one connection.
        with self._test_lock():
            return super().authenticate(*args, **kwargs)

    def rpc(self, *args, **kwargs):
        # The POS's call flushes this test's cursor in the test thread first:
        # under the lock, so that a running relay's requests (and websockets)
        # keep off the connection meanwhile. A start only queues the relay's
        # job: nothing waits for the relay inside.
        with self._test_lock():
            return super().rpc(*args, **kwargs)

    def _open_pos_ui(self):
        # The same for the tours' opening of the POS session (test thread).
        with self._test_lock():
            return super()._open_pos_ui()

    def start_tour(self, *args, **kwargs):
        # The tour first flushes this test's cursor in the test thread (pending
        # writes, their precommit hooks such as mail tracking): done here under
        # the lock, so that a running relay's requests keep off the connection.
        with self._test_lock():
            self.env.flush_all()
            self.cr.flush()
        return super().start_tour(*args, **kwargs)

    def start_relay(self, token, relay=None, wait=1, interval=0.2, bus=False):
        """``bus``: let it listen on Odoo's bus. Off by default: in tests Odoo
        sends no bus notification by itself (nothing is committed), so a relay
        listening there would wait for its safety poll."""
        self.relay_process = subprocess.Popen(
            [sys.executable, "-m", "caisse_ap.relay", "--server", self.base_url()]
            + ["--wait", str(wait), "--interval", str(interval)]
            + ([] if bus else ["--no-bus"])
            + ["--state-dir", self.relay_state_dir],
            cwd=ADDON_DIR,
            env=dict(os.environ, CAISSE_AP_RELAY_TOKEN=token),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if relay is not None:
            deadline = time.monotonic() + RELAY_TIMEOUT
            while not self.relay_seen(relay):
                self.assertLess(time.monotonic(), deadline, "the relay never polled")
                time.sleep(0.05)
            # The test's environment may hold the relay as read before its poll.
            self.env.invalidate_all()

    def press_test_connection(self, user, method):
        """Press "Test connection" in the test thread while the relay runs.

        The action reads with this test's cursor, which the relay's requests
        share: hold the test lock for it, except while it waits for the
        relay's answer (it then reads through test cursors, taking the lock
        in turn), or the relay could never answer.
        """
        lock = self.registry.test_lock
        model = type(method)
        waiting = model._caisse_ap_probe_through

        def wait_unlocked(records, relay):
            lock.release()
            try:
                return waiting(records, relay)
            finally:
                lock.acquire()

        with lock, patch.object(model, "_caisse_ap_probe_through", wait_unlocked):
            return method.with_user(user).action_caisse_ap_test_connection()

    def press_find_terminals(self, user, method, network):
        """Run "Find terminals" through the relay in the test thread: the same
        lock dance as :meth:`press_test_connection`. The finder's lines."""
        lock = self.registry.test_lock
        probes = type(self.env["pos.caisse.ap.relay.probe"])
        asking = probes._caisse_ap_ask

        def ask_unlocked(records, values, wait):
            lock.release()
            try:
                return asking(records, values, wait)
            finally:
                lock.acquire()

        with lock, patch.object(probes, "_caisse_ap_ask", ask_unlocked):
            finder = (
                self.env["pos.caisse.ap.terminal.finder"]
                .with_user(user)
                .with_context(default_payment_method_id=method.id)
                .create({"network": network, "port": method.fr_caisse_ap_ip_port})
            )
            finder.action_scan()
            return finder.line_ids

    def relay_seen(self, relay):
        # Its own (test) cursor: the relay's requests share this test's connection.
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT last_seen FROM pos_caisse_ap_relay_presence "
                "WHERE relay_id = %s",
                (relay.id,),
            )
            row = cr.fetchone()
            return bool(row and row[0])

    def stop_relay(self, sig=signal.SIGTERM):
        """Stop the relay; its log (stderr)."""
        process, self.relay_process = self.relay_process, None
        if not process:
            return ""
        if process.poll() is None:
            process.send_signal(sig)
        process.wait(timeout=RELAY_TIMEOUT)
        return process.stderr.read()
