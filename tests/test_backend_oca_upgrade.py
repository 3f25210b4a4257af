"""A database coming from the OCA module keeps the terminal addresses it had,
some of which this addon refuses: the update names them before a customer
meets the refusal at the till."""

import importlib.util
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from ..models.pos_payment_method import NETWORKS_PARAM
from .common import caisse_ap_method_values

MIGRATION = (
    Path(__file__).parents[1] / "migrations" / "18.0.3.3.0" / "post-migration.py"
)
LOGGER = "odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_caisse_ap_address_mixin"


def load_migration():
    spec = importlib.util.spec_from_file_location("refused_addresses", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestOcaUpgrade(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        journal = cls.env["account.journal"].create(
            {"name": "Caisse-AP Bank", "type": "bank", "code": "CAPU"}
        )
        methods = cls.env["pos.payment.method"]
        cls.forwarded, cls.vpn, cls.shop = methods.create(
            [
                caisse_ap_method_values(
                    journal, name, fr_caisse_ap_ip_address="10.0.0.7"
                )
                for name in ("TPE forwarded", "TPE VPN", "TPE shop")
            ]
        )
        # As the OCA module saved them (it checked no address): a port forwarded
        # from a public address, and a VPN address in 100.64.0.0/10.
        for method, address in (
            (cls.forwarded, "203.0.113.10"),
            (cls.vpn, "100.64.3.4"),
        ):
            cls.env.cr.execute(
                "UPDATE pos_payment_method SET fr_caisse_ap_ip_address = %s "
                "WHERE id = %s",
                (address, method.id),
            )
        methods.invalidate_model()

    def test_the_update_names_every_refused_method_and_how_to_allow_it(self):
        with self.assertLogs(LOGGER, level="WARNING") as logs:
            load_migration().migrate(self.env.cr, "18.0.1.5.0")
        logged = "\n".join(logs.output)
        for method, address in (
            (self.forwarded, "203.0.113.10"),
            (self.vpn, "100.64.3.4"),
        ):
            self.assertIn(method.name, logged)
            self.assertIn(address, logged)
        self.assertIn(NETWORKS_PARAM, logged)
        self.assertNotIn(self.shop.name, logged)

        for method in self.forwarded | self.vpn:
            warning = method.fr_caisse_ap_address_warning
            self.assertIn(method.fr_caisse_ap_ip_address, warning)
            self.assertIn(NETWORKS_PARAM, warning, "the form says how to allow it")
        self.assertFalse(self.shop.fr_caisse_ap_address_warning)

        # Once the administrator lists the VPN's network, its method is allowed.
        self.env["ir.config_parameter"].sudo().set_param(
            NETWORKS_PARAM, "192.168.0.0/16, 10.0.0.0/8, 100.64.0.0/10"
        )
        self.vpn.invalidate_recordset()
        self.assertFalse(self.vpn.fr_caisse_ap_address_warning)
        with self.assertLogs(LOGGER, level="WARNING") as logs:
            load_migration().migrate(self.env.cr, "18.0.1.5.0")
        self.assertNotIn(self.vpn.name, "\n".join(logs.output))

    def test_a_new_install_logs_nothing(self):
        with self.assertNoLogs(LOGGER, level="WARNING"):
            load_migration().migrate(self.env.cr, None)
