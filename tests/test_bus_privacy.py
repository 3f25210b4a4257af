"""The POS bus channel is public: it must not carry card data.

The self-order page and the customer display subscribe to the channel named after
``pos.config.access_token`` without logging in (the token is printed as a QR code on
tables). This test plays such a page: an anonymous websocket on that channel, while a
till pays by card, is declined, and fails to reach a terminal.
"""

import json
import uuid

from odoo import api
from odoo.tests import new_test_user, tagged

from odoo.addons.bus.tests.common import WebsocketCase

from ..caisse_ap.simulator import Scenario
from .common import (
    WORKER_TIMEOUT,
    allow_local_terminals,
    caisse_ap_method_values,
    free_port,
    started_simulator,
)
from .worker_support import wait_for_worker

AUTH_CODE = "654321"
CARD_DIGITS = "9876"
RECEIPT = "TICKET CLIENT CONFIDENTIEL"


def secret_approval():
    """An approval carrying all that must stay off the public channel."""
    return Scenario(
        kind="approve",
        delay=0,
        auth_code=AUTH_CODE,
        masked_card=f"497010######{CARD_DIGITS}",
        receipt=RECEIPT,
    )


@tagged("post_install", "-at_install")
class TestBusPrivacy(WebsocketCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        allow_local_terminals(cls.env)
        journal = cls.env["account.journal"].create(
            {"name": "Caisse-AP Bus", "type": "bank", "code": "CAPBU"}
        )
        cls.method = cls.env["pos.payment.method"].create(
            caisse_ap_method_values(journal, "TPE Bus", fr_caisse_ap_ip_receipt=True)
        )
        cls.config = cls.env["pos.config"].create(
            {"name": "Caisse-AP Bus Shop", "payment_method_ids": [cls.method.id]}
        )
        cls.config.open_ui()
        cls.pos_session = cls.config.current_session_id
        cls.pos_session.set_opening_control(0, None)
        cls.cashier = new_test_user(
            cls.env,
            login="caisse_ap_bus_cashier",
            groups="base.group_user,point_of_sale.group_pos_user",
        )

    def setUp(self):
        super().setUp()
        self.simulator = started_simulator(self.addCleanup)
        self.method.fr_caisse_ap_ip_port = self.simulator.port

    def _rpc(self, name, *args):
        """An RPC of the payment method by the cashier, in its own cursor."""
        self.env.flush_all()
        with self.registry.cursor() as cr:
            env = api.Environment(cr, self.cashier.id, {})
            result = getattr(env["pos.payment.method"].browse(self.method.id), name)(
                *args
            )
        self.env.invalidate_all()
        return result

    def _pay(self, amount, result_channel=""):
        payment_uuid = str(uuid.uuid4())
        self._rpc(
            "caisse_ap_start",
            {
                "payment_uuid": payment_uuid,
                "order_uuid": str(uuid.uuid4()),
                "amount": amount,
                "pos_session_id": self.pos_session.id,
                "retry": False,
                "result_channel": result_channel,
            },
        )
        self.assertTrue(wait_for_worker(self.cr.dbname, payment_uuid, WORKER_TIMEOUT))
        return self._rpc("caisse_ap_status", payment_uuid)

    def test_anonymous_subscriber_gets_no_card_data(self):
        token = self.config.access_token
        websocket = self.websocket_connect()  # a public session, as on a phone
        self.subscribe(websocket, [token], self.env["bus.bus"]._bus_last_id())

        self.simulator.queue(
            secret_approval(),
            Scenario(kind="decline", delay=0, af_code="05"),
        )
        approved = self._pay(12.34)
        declined = self._pay(5.0)
        # Nothing listens there: the error names the terminal's address.
        unreachable_port = free_port()
        self.method.fr_caisse_ap_ip_port = unreachable_port
        not_sent = self._pay(7.0)

        # The cashier, authenticated, reads every detail through caisse_ap_status.
        self.assertEqual(approved["state"], "success")
        self.assertEqual(approved["auth_code"], AUTH_CODE)
        self.assertEqual(approved["card_last4"], CARD_DIGITS)
        self.assertIn(RECEIPT, approved["receipt_text"])
        self.assertEqual(declined["state"], "failure")
        self.assertEqual(not_sent["state"], "error")
        terminal = f"127.0.0.1:{unreachable_port}"
        self.assertIn(terminal, not_sent["message"])

        self.trigger_notification_dispatching([token])
        received = json.loads(websocket.recv())
        notes = [
            note["message"]["payload"]
            for note in received
            if note["message"]["type"] == f"{token}-CAISSE_AP_TRANSACTION"
        ]
        # The page does hear that payments changed (the test is not blind) ...
        self.assertEqual(
            {(note["payment_uuid"], note["state"]) for note in notes}
            >= {
                (approved["payment_uuid"], "success"),
                (declined["payment_uuid"], "failure"),
                (not_sent["payment_uuid"], "error"),
            },
            True,
        )
        # ... and nothing more.
        for note in notes:
            self.assertEqual(set(note), {"payment_uuid", "attempt", "state"})
        text = json.dumps(received)
        for secret in (AUTH_CODE, CARD_DIGITS, "CONFIDENTIEL", terminal, "127.0.0.1"):
            self.assertNotIn(secret, text)

    def test_the_outcome_reaches_the_tab_that_started_the_payment_only(self):
        token = self.config.access_token
        channel = "l10n_fr_pos_caisse_ap_ip.result." + uuid.uuid4().hex
        other = new_test_user(
            self.env,
            login="caisse_ap_bus_other",
            groups="base.group_user,point_of_sale.group_pos_user",
        )
        last = self.env["bus.bus"]._bus_last_id()
        # The paying tab, another tab of the same cashier, a till of another user.
        tabs = {}
        for name, user, channels in (
            ("paying", self.cashier, [token, channel]),
            ("same user", self.cashier, [token]),
            ("other user", other, [token]),
        ):
            # Sessions side by side: authenticate() would delete the previous one.
            self.session = None
            session = self.authenticate(user.login, user.login)
            tabs[name] = self.websocket_connect(cookie=f"session_id={session.sid};")
            self.subscribe(tabs[name], channels, last)

        self.simulator.queue(secret_approval())
        approved = self._pay(12.34, result_channel=channel)
        self.trigger_notification_dispatching(
            [token, channel, self.cashier.partner_id, other.partner_id]
        )

        def notes(name):
            return [note["message"] for note in json.loads(tabs[name].recv())]

        paying = notes("paying")
        # At each change, the very dict caisse_ap_status answers: the final
        # one with the card data ...
        results = [m["payload"] for m in paying if m["type"] == "CAISSE_AP_RESULT"]
        self.assertEqual([result["state"] for result in results], ["sent", "success"])
        self.assertEqual(results[-1], approved)
        self.assertEqual(approved["auth_code"], AUTH_CODE)
        # ... before the public note of the same state.
        heard_in_order = [
            (m["type"], m["payload"].get("state"))
            for m in paying
            if isinstance(m["payload"], dict)
        ]
        for state in ("sent", "success"):
            self.assertLess(
                heard_in_order.index(("CAISSE_AP_RESULT", state)),
                heard_in_order.index((f"{token}-CAISSE_AP_TRANSACTION", state)),
                state,
            )
        # Every other page hears only the public note.
        for name in ("same user", "other user"):
            heard = notes(name)
            self.assertIn(
                f"{token}-CAISSE_AP_TRANSACTION", {m["type"] for m in heard}, name
            )
            text = json.dumps(heard)
            for secret in (AUTH_CODE, CARD_DIGITS, "CONFIDENTIEL"):
                self.assertNotIn(secret, text, name)
