"""Shop relays on Odoo's bus: a real websocket to this test's server.

Only a subscription that carries a relay's token joins that relay's channel;
the relay hears there that a payment waits, and claims it at once. In tests
Odoo dispatches no bus notification by itself (nothing is committed):
``trigger_notification_dispatching`` does what its bus thread does.
"""

import json
import signal
import time
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.bus.models.bus import channel_with_db, dispatch, hashable
from odoo.addons.bus.tests.common import WebsocketCase
from odoo.addons.bus.websocket import WebsocketConnectionHandler

from ..caisse_ap import ws_client
from ..caisse_ap.relay_bus import notification_types
from ..caisse_ap.relay_wire import BUS_KEY, BUS_READY, BUS_WORK
from ..models import pos_payment_method
from ..models.pos_caisse_ap_relay import bus_subchannel
from .common import CaisseApCommon
from .relay_support import SEEN, RelayMethodMixin, RelayProcessMixin, new_token

LISTEN = 2.0  # how long a test listens for what must not come


@tagged("post_install", "-at_install")
class TestRelayBus(RelayProcessMixin, RelayMethodMixin, CaisseApCommon, WebsocketCase):
    def setUp(self):
        super().setUp()
        self.sockets = []

    def tearDown(self):
        # Before Odoo's websocket tests wait for every connection to end.
        self.stop_relay()
        for websocket in self.sockets:
            websocket.close()
        super().tearDown()

    def open(self, cookie=None, headers=None):
        headers = {"Origin": self.base_url(), **(headers or {})}
        if cookie:
            headers["Cookie"] = cookie
        websocket = ws_client.connect(
            self._BASE_WEBSOCKET_URL, timeout=10, headers=headers
        )
        self.sockets.append(websocket)
        return websocket

    def cashier_cookie(self):
        """The session cookie of the POS user, logged in (``self.session`` is
        the POS session here: HttpCase's own is put aside meanwhile)."""
        pos_session, self.session = self.session, None
        try:
            session = self.authenticate(self.pos_user.login, self.pos_user.login)
        finally:
            self.session = pos_session
        return f"session_id={session.sid}"

    def subscribe(self, websocket, channels=(), proof=None):
        data = {"channels": list(channels), "last": 0}
        if proof is not None:
            data[BUS_KEY] = proof
        websocket.send_text(json.dumps({"event_name": "subscribe", "data": data}))

    def heard(self, websocket, seconds=LISTEN, until=None):
        """The notification types heard within ``seconds`` (or until one of
        type ``until`` comes)."""
        kinds = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and until not in kinds:
            message = websocket.receive(max(deadline - time.monotonic(), 0))
            if message is not None:
                kinds |= notification_types(message)
        return kinds

    def relay_listening(self, token=None, **open_args):
        websocket = self.open(**open_args)
        self.subscribe(websocket, proof={"token": token or self.token, **SEEN})
        self.assertIn(BUS_READY, self.heard(websocket, 10, until=BUS_READY))
        return websocket

    def wake_relay(self):
        """Start a payment through the relay, then have every websocket read
        what the bus has for its channels (Odoo's bus thread wakes only those
        of the relay's channel: here a wrongly subscribed one would hear too)."""
        started = self.start(4.0)
        self.dispatch_to_everyone()
        return started

    def dispatch_to_everyone(self):
        # The bus notes are written with this test's cursor, which the
        # websockets' threads share: under the lock, as their cursors take it.
        with self._test_lock():
            self.env.cr.precommit.run()
        for websocket in {
            ws for wss in dispatch._channels_to_ws.values() for ws in wss
        }:
            websocket.trigger_notification_dispatching()

    def assertRefused(self, websocket):
        # Not assertRaises: Odoo's makes a savepoint, which the server's
        # threads, on the same connection meanwhile, would undo.
        try:
            self.heard(websocket, 10)
        except ws_client.Closed as closed:
            self.assertEqual(closed.code, 4001)  # Odoo's close for a refusal
        else:
            self.fail("the subscription was not refused")

    # ------------------------------------------------------------------
    def test_the_relay_hears_its_payments_and_is_online(self):
        websocket = self.relay_listening()
        self.env.invalidate_all()
        self.assertTrue(self.relay.online)
        self.assertEqual(self.relay.version, SEEN["version"])
        self.wake_relay()
        self.assertIn(BUS_WORK, self.heard(websocket, 10, until=BUS_WORK))

    def test_a_wrong_or_missing_token_is_refused(self):
        for proof in ({"token": "not-the-token"}, {}, {"token": None}, "x"):
            with self.assertLogs(
                "odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"
            ) as logs:
                websocket = self.open()
                self.subscribe(websocket, proof=proof)
                self.assertRefused(websocket)
            self.assertIn("wrong or revoked token", logs.output[0])
            self.assertNotIn("not-the-token", "".join(logs.output))

    def test_guessed_channel_names_hear_nothing(self):
        """Subscribed by name to whatever it can guess, even the very name of
        the relay's channel, a client hears none of the relay's wake-ups."""
        relay = self.relay.sudo()
        guesses = [
            "caisse_ap_relay",
            BUS_WORK,
            f"pos.caisse.ap.relay_{relay.id}",
            f"pos.caisse.ap.relay,{relay.id}",
            bus_subchannel(relay.token_hash),
            bus_subchannel(""),
        ]
        anonymous = self.open()
        self.subscribe(anonymous, guesses)
        logged_in = self.open(cookie=self.cashier_cookie())
        self.subscribe(logged_in, guesses)
        listening = self.relay_listening()
        self.wake_relay()
        self.assertIn(BUS_WORK, self.heard(listening, 10, until=BUS_WORK))
        self.assertNotIn(BUS_WORK, self.heard(anonymous))
        self.assertNotIn(BUS_WORK, self.heard(logged_in))

    def test_a_logged_in_cashier_needs_the_token_too(self):
        websocket = self.open(cookie=self.cashier_cookie())
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            self.subscribe(websocket, proof={"token": "guess", **SEEN})
            self.assertRefused(websocket)

    def test_a_replaced_token_stops_hearing_at_once(self):
        old = self.relay_listening()
        self.token = new_token(self.relay)
        self.wake_relay()
        self.assertNotIn(BUS_WORK, self.heard(old))
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING"):
            # Its next heartbeat is refused.
            self.subscribe(old, proof={"token": "old", **SEEN})
            self.assertRefused(old)

    def test_plain_http_through_a_proxy_is_refused(self):
        websocket = self.open(headers={"X-Forwarded-For": "203.0.113.9"})
        with self.assertLogs("odoo.addons.l10n_fr_pos_caisse_ap_ip", "WARNING") as logs:
            self.subscribe(websocket, proof={"token": self.token, **SEEN})
            self.assertRefused(websocket)
        self.assertIn("plain HTTP", logs.output[0])

    # ------------------------------------------------------------------
    def wait_subscribed(self, channel):
        """Until the relay process listens on ``channel``."""
        self.wait_until(lambda: self.subscribed(channel), timeout=30)

    def subscribed(self, channel):
        key = hashable(channel_with_db(self.registry.db_name, channel))
        return bool(dispatch._channels_to_ws.get(key))

    def test_the_relay_process_is_woken_and_claims_at_once(self):
        # Read before the relay's requests share this test's connection.
        channel = self.relay._caisse_ap_bus_channel()
        # Polling every 30 s: only the bus can bring the payment sooner.
        self.start_relay(self.token, self.relay, interval=30, bus=True)
        self.wait_subscribed(channel)
        time.sleep(0.5)  # its poll on hearing READY
        started = time.monotonic()
        transaction_id = self.wake_relay()["transaction_id"]
        self.wait_until(lambda: self.state(transaction_id) == "success", timeout=15)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("listening on Odoo's bus", self.stop_relay(signal.SIGTERM))

    def test_with_the_bus_refused_the_relay_polls_and_pays(self):
        with patch.object(
            WebsocketConnectionHandler, "websocket_allowed", return_value=False
        ):
            self.start_relay(self.token, self.relay, bus=True)
            transaction_id = self.start(6.0)["transaction_id"]
            self.wait_until(lambda: self.state(transaction_id) == "success")
            log = self.stop_relay()
        self.assertIn("polling every few seconds meanwhile", log)

    def state(self, transaction_id):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT state FROM pos_caisse_ap_transaction WHERE id = %s",
                (transaction_id,),
            )
            return cr.fetchone()[0]

    def test_a_connection_test_wakes_the_relay(self):
        websocket = self.relay_listening()
        # Queued and committed, then not waited for.
        with patch.object(pos_payment_method, "PROBE_WAIT", 0):
            self.method._caisse_ap_probe_through(self.relay)
        self.dispatch_to_everyone()
        self.assertIn(BUS_WORK, self.heard(websocket, 10, until=BUS_WORK))

    def test_a_search_for_terminals_wakes_the_relay(self):
        websocket = self.relay_listening()
        values = {"relay_id": self.relay.id, "network": "192.168.1.0/24", "port": 8888}
        # Queued and committed, then not waited for.
        self.env["pos.caisse.ap.relay.probe"]._caisse_ap_ask(values, 0)
        self.dispatch_to_everyone()
        self.assertIn(BUS_WORK, self.heard(websocket, 10, until=BUS_WORK))
