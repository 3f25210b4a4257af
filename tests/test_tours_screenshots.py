"""The README's screenshots, taken by the browser during tours (how: see
screenshot_support.py)."""

from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..caisse_ap import discovery, relay_pairing
from ..caisse_ap.relay_wire import PROTOCOL
from ..caisse_ap.simulator import Scenario
from .common import free_port, journal_entry
from .screenshot_support import ScreenshotMixin, png_size, stack_images
from .test_tours_caisse_ap import TOUR_TIMEOUT, CaisseApTourCase

SHOTS = {
    "screenshot_payment_method": "the payment method form",
    "screenshot_terminal_finder": "the Find terminals dialog, listing what answered",
    "screenshot_pos_declined": "a declined payment, its reason and Retry",
    "screenshot_pos_payment": "the POS payment screen during a payment",
    "screenshot_pos_receipt": "the receipt with the terminal payment's block",
    "screenshot_pos_unknown": "the unknown-outcome dialog",
    "screenshot_pos_closing": "the POS closing screen with the terminal's items",
    "screenshot_relay": "a shop relay's form, online, with its payment method",
    "screenshot_relay_pairing": "the pairing dialog: its command, then its code",
    "screenshot_review": "the Mark as Reviewed dialog of an entry needing attention",
}
# The lines a cashier can also see, stacked into screenshot_pos_states.png.
STATES = {
    "screenshot_states_cancelled": "a payment cancelled on the terminal",
    "screenshot_states_not_sent": "a payment the terminal could not be sent",
    "screenshot_states_busy": "a terminal busy with another payment",
    "screenshot_states_partial": "a partial authorisation",
    "screenshot_states_offline": "the server lost while the customer pays",
}

# The screens the README shows, with their French words (field labels, menus).
FRENCH_MODULES = ("base", "web", "point_of_sale", "l10n_fr_pos_caisse_ap_ip")
# The shop's Odoo and network, as the README's dialogs show them.
SHOP_ODOO = "https://epicerie-du-marche.odoo.com"
SHOP_TERMINALS = ("192.168.1.50", "192.168.1.52")
PAIRING_CODE = "KQ7M-4DXP"


@tagged("post_install", "-at_install")
class TestCaisseApScreenshots(ScreenshotMixin, CaisseApTourCase):
    """The README shows a French shop: a company in France, paying in euros,
    whose cashier and administrator work in French."""

    # The whole payment method form, not its first screen.
    TALL = {"screenshot_payment_method": 1000}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"].search(
            [("name", "in", FRENCH_MODULES), ("state", "=", "installed")]
        )._update_translations("fr_FR")
        (cls.pos_user | cls.pos_admin).write({"lang": "fr_FR"})

    @classmethod
    def setup_independent_company(cls, **kwargs):
        # Odoo's generic chart of accounts (the French one, l10n_fr_account, is not
        # a dependency), then the shop's country: France, in euros.
        company = super().setup_independent_company(
            currency_id=cls._enable_currency("EUR").id, **kwargs
        )
        company.write(
            {
                "name": "Épicerie du Marché",
                "city": "Lyon",
                "country_id": cls.env.ref("base.fr").id,
            }
        )
        return company

    def test_the_shop_is_french_and_pays_in_euros(self):
        company = self.main_pos_config.company_id
        self.assertEqual(
            (company.country_id.code, self.main_pos_config.currency_id.name),
            ("FR", "EUR"),
        )
        self.assertEqual(
            set((self.pos_user | self.pos_admin).mapped("lang")), {"fr_FR"}
        )
        label = self.env["ir.model.fields"]._get(
            "pos.payment.method", "fr_caisse_ap_ip_address"
        )
        self.assertEqual(
            label.with_context(lang="fr_FR").field_description, "Adresse du terminal"
        )

    def _closing_screen_items(self):
        """For the closing screen: an approval with no sale, an unknown outcome."""
        session = self.main_pos_config.current_session_id
        journal_entry(self.env, self.card, session, "success", 12.5)
        journal_entry(self.env, self.card, session, "unknown", 4.2)

    def _shop_relay(self):
        """A relay that polled a minute ago, with one method through it."""
        relay = self.env["pos.caisse.ap.relay"].create({"name": "Boutique Lyon"})
        relay.action_new_token()
        self.env["pos.caisse.ap.relay.presence"].sudo().create(
            {
                "relay_id": relay.id,
                "last_seen": fields.Datetime.now(),
                "version": "18.0.3.0.0",
                "protocol": PROTOCOL,
                "last_address": "203.0.113.7",
            }
        )
        self._caisse_ap_method(
            "Carte (relais)",
            fr_caisse_ap_ip_connection="relay",
            fr_caisse_ap_relay_id=relay.id,
            fr_caisse_ap_ip_address="192.168.1.51",
        )
        return relay

    def _shop_network(self):
        """The shop's network, for the terminal finder: its terminals at
        SHOP_TERMINALS are the two simulators (a knock on their port 8888 knocks
        on the simulator's), no other address answers."""
        knock = discovery._accepts
        terminals = dict(
            zip(SHOP_TERMINALS, (self.terminal, self.terminal_b), strict=True)
        )

        async def accepts(address, port, timeout):
            terminal = terminals.get(address)
            if terminal is None or port != 8888:
                return False
            return await knock(terminal.host, terminal.port, timeout)

        return patch.object(discovery, "_accepts", accepts)

    def _back_office_shots(self):
        relay = self._shop_relay()
        # The pairing dialog's command names the shop's Odoo, not this test's
        # server (frozen: a login could set it back).
        parameters = self.env["ir.config_parameter"].sudo()
        base_url = parameters.get_param("web.base.url")
        parameters.set_param("web.base.url", SHOP_ODOO)
        parameters.set_param("web.base.url.freeze", True)
        with patch.object(relay_pairing, "new_code", return_value=PAIRING_CODE):
            self.start_tour(
                f"/odoo/action-l10n_fr_pos_caisse_ap_ip.action_pos_caisse_ap_relay/{relay.id}",
                "CaisseApScreenshotRelayTour",
                login="pos_admin",
                timeout=TOUR_TIMEOUT,
            )
        parameters.set_param("web.base.url.freeze", False)
        parameters.set_param("web.base.url", base_url)
        session = self.main_pos_config.current_session_id
        unknown = self.env["pos.caisse.ap.transaction"].search(
            [("session_id", "=", session.id), ("state", "=", "unknown")], limit=1
        )
        self.start_tour(
            "/odoo/action-l10n_fr_pos_caisse_ap_ip."
            f"action_pos_caisse_ap_transaction_attention/{unknown.id}",
            "CaisseApScreenshotReviewTour",
            login="pos_admin",
            timeout=TOUR_TIMEOUT,
        )

    def test_tour_screenshots(self):
        for name in SHOTS:
            (self.directory / f"{name}.png").unlink(missing_ok=True)
        # What a shop would type, rather than the simulator's local address.
        shown = self._caisse_ap_method(
            "Carte bancaire (TPE)",
            fr_caisse_ap_ip_address="192.168.1.50",
            fr_caisse_ap_ip_timeout=180,
        )
        # Declined, then approved after a while (the payment screen shows the running
        # payment), then an answer that cannot be read.
        self.terminal.queue(
            Scenario(kind="decline", af_code="05"),
            Scenario(kind="approve", delay=4),
            Scenario(kind="garbage"),
        )
        with self._capturing_console():
            with self._shop_network():
                self.start_tour(
                    f"/odoo/action-point_of_sale.action_pos_payment_method_form/{shown.id}",
                    "CaisseApScreenshotFormTour",
                    login="pos_admin",
                    timeout=TOUR_TIMEOUT,
                )
            self.main_pos_config.with_user(self.pos_user).open_ui()
            self._closing_screen_items()
            self.start_pos_tour(
                "CaisseApScreenshotPosTour", login="pos_user", timeout=TOUR_TIMEOUT
            )
            self._back_office_shots()

        for name, what in SHOTS.items():
            path = self.directory / f"{name}.png"
            self.assertTrue(path.exists(), f"no screenshot of {what}")
            width, height = png_size(path.read_bytes())
            self.assertGreaterEqual((width, height), (1000, 600), what)
        self.assertEqual(len(self.terminal.exchanges), 3, "each attempt sent once")

    def test_tour_screenshot_states(self):
        target = self.directory / "screenshot_pos_states.png"
        target.unlink(missing_ok=True)
        # A terminal nobody listens on, and the neighbour's terminal busy with a
        # payment of another till.
        unreachable = self._caisse_ap_method(
            "TPE Réserve", fr_caisse_ap_ip_port=free_port()
        )
        self.main_pos_config.payment_method_ids |= unreachable
        self.main_pos_config.with_user(self.pos_user).open_ui()
        session = self.main_pos_config.current_session_id
        journal_entry(
            self.env, self.neighbour, session, "sent", 8.0, ago=0, ended_at=False
        )
        self.terminal.queue(
            Scenario(kind="red_button", af_code="06", delay=3),
            Scenario(kind="partial", partial_amount=300),
            Scenario(kind="approve", delay=4),
        )
        with self._capturing_console():
            self.start_pos_tour(
                "CaisseApScreenshotStatesTour", login="pos_user", timeout=TOUR_TIMEOUT
            )
        parts = [self.directory / f"{name}.png" for name in STATES]
        for path, what in zip(parts, STATES.values(), strict=True):
            self.assertTrue(path.exists(), f"no screenshot of {what}")
            width, height = png_size(path.read_bytes())
            self.assertGreater(width, 300, what)
            self.assertLess(height, 400, f"{what}: the lines only, not the screen")
        stack_images(parts, target)
        for path in parts:
            path.unlink()
        width, height = png_size(target.read_bytes())
        self.assertGreater(height, len(STATES) * 50)
        self.assertEqual(len(self.terminal.exchanges), 3, "busy and unreachable: none")
        self.assertFalse(self.terminal_b.exchanges)
