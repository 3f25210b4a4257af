import uuid

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from .common import CaisseApCommon
from .worker_support import running_workers


@tagged("post_install", "-at_install")
class TestBackendAccess(CaisseApCommon):
    """Every refusal is explicit, and nothing reaches the terminal."""

    @classmethod
    def _create_extra_methods(cls):
        cls.plain_bank = cls.env["pos.payment.method"].create(
            {"name": "Bank (no terminal)", "journal_id": cls.bank_journal.id}
        )
        return cls.plain_bank

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Autre Boutique"})
        cls.other_company_method = cls.env["pos.payment.method"].create(
            {
                "name": "TPE autre société",
                "payment_method_type": "terminal",
                "use_payment_terminal": "fr-caisse_ap_ip",
                "fr_caisse_ap_ip_address": "127.0.0.1",
                "company_id": cls.other_company.id,
            }
        )
        cls.outside_method = cls._create_method("TPE hors caisse")
        cls.employee = new_test_user(
            cls.env, login="caisse_ap_employee", groups="base.group_user"
        )
        cls.two_company_user = new_test_user(
            cls.env,
            login="caisse_ap_two_companies",
            groups="base.group_user,point_of_sale.group_pos_user",
            company_id=cls.company.id,
            company_ids=[(6, 0, (cls.company | cls.other_company).ids)],
        )

    def assertNothingSent(self):
        self.assertFalse(self.transactions())
        self.assertFalse(running_workers(self.cr.dbname))
        self.assertEqual(self.simulator.exchanges, [])

    def test_not_a_pos_user(self):
        with self.assertRaisesRegex(AccessError, "Point of Sale users"):
            self.start(user=self.employee)
        self.assertNothingSent()
        started, _transaction, _status = self.pay()
        for rpc in ("caisse_ap_status", "caisse_ap_cancel"):
            with self.subTest(rpc=rpc), self.assertRaises(AccessError):
                self.rpc(rpc, started["payment_uuid"], user=self.employee)

    def test_other_company(self):
        self.other_company_method.fr_caisse_ap_ip_port = self.simulator.port
        with self.assertRaisesRegex(AccessError, "another company"):
            self.start(method=self.other_company_method)
        # A member of both companies acts for the companies enabled in its context.
        with self.assertRaisesRegex(AccessError, "another company"):
            self.start(
                method=self.other_company_method,
                user=self.two_company_user,
                context={"allowed_company_ids": self.company.ids},
            )
        with self.assertRaisesRegex(AccessError, "another company"):
            self.start(
                user=self.two_company_user,
                context={"allowed_company_ids": self.other_company.ids},
            )
        self.assertNothingSent()

    def _rule_hiding(self, record):
        """A record rule of the shop (not a company rule) that keeps ``record``
        away from POS users."""
        return self.env["ir.rule"].create(
            {
                "name": f"caisse_ap test: hide {record}",
                "model_id": self.env["ir.model"]._get_id(record._name),
                "domain_force": f"[('id', '!=', {record.id})]",
                "groups": [Command.link(self.ref("point_of_sale.group_pos_user"))],
            }
        )

    def test_record_rule_hides_the_session(self):
        started, _transaction, _status = self.pay()
        self._rule_hiding(self.session)
        with self.assertRaises(AccessError):
            self.start()
        for rpc in ("caisse_ap_status", "caisse_ap_cancel"):
            with self.subTest(rpc=rpc), self.assertRaises(AccessError):
                self.rpc(rpc, started["payment_uuid"])
        self.assertEqual(len(self.transactions()), 1)
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_record_rule_hides_the_method(self):
        self._rule_hiding(self.method)
        with self.assertRaises(AccessError):
            self.start()
        self.assertNothingSent()

    def test_closed_session(self):
        started, _transaction, _status = self.pay()
        self.session.state = "closing_control"
        with self.assertRaisesRegex(UserError, "is not open"):
            self.start()
        for rpc in ("caisse_ap_status", "caisse_ap_cancel"):
            with (
                self.subTest(rpc=rpc),
                self.assertRaisesRegex(UserError, "is not open"),
            ):
                self.rpc(rpc, started["payment_uuid"])
        self.assertEqual(len(self.transactions()), 1)
        self.assertEqual(len(self.simulator.exchanges), 1)

    def test_unknown_session(self):
        with self.assertRaisesRegex(UserError, "does not exist"):
            self.start(session=self.env["pos.session"].browse(999999999))
        self.assertNothingSent()

    def test_unknown_method(self):
        gone = self.env["pos.payment.method"].browse(999999999)
        with self.assertRaisesRegex(UserError, "no longer exists"):
            self.start(method=gone)
        with self.assertRaisesRegex(UserError, "no longer exists"):
            self.rpc("caisse_ap_status", str(uuid.uuid4()), method=gone)
        self.assertNothingSent()

    def test_method_not_in_the_pos(self):
        self.outside_method.fr_caisse_ap_ip_port = self.simulator.port
        with self.assertRaisesRegex(UserError, "not available in"):
            self.start(method=self.outside_method)
        self.assertNothingSent()

    def test_other_terminal_type(self):
        with self.assertRaisesRegex(UserError, "not an active Caisse-AP"):
            self.start(method=self.plain_bank)
        self.assertNothingSent()

    def test_archived_method(self):
        self.method._write({"active": False})  # past the open-session guard
        with self.assertRaisesRegex(UserError, "not an active Caisse-AP"):
            self.start()
        self.assertNothingSent()

    def test_bad_requests(self):
        base = {
            "payment_uuid": "p-1",
            "order_uuid": "o-1",
            "amount": 1.0,
            "pos_session_id": self.session.id,
        }
        bad = [
            ("not a dict", "Invalid payment terminal request"),
            ({**base, "payment_uuid": ""}, "Invalid payment reference"),
            ({**base, "payment_uuid": "x" * 65}, "Invalid payment reference"),
            ({**base, "payment_uuid": "a b"}, "Invalid payment reference"),
            ({**base, "amount": 0}, "cannot be zero"),
            ({**base, "amount": 0.004}, "cannot be zero"),
            ({**base, "amount": 10_000_000_000.0}, "too large"),
            ({**base, "amount": True}, "Invalid amount"),
            ({**base, "amount": "12"}, "Invalid amount"),
            ({**base, "amount": float("nan")}, "Invalid amount"),
            (
                {**base, "pos_session_id": str(self.session.id)},
                "Invalid Point of Sale session",
            ),
            ({**base, "order_uuid": 12}, "Invalid order reference"),
            # A result channel must be a name only its tab can know.
            ({**base, "result_channel": 12}, "Invalid result channel"),
            ({**base, "result_channel": "abc"}, "Invalid result channel"),
            # Never the POS's public channel.
            (
                {**base, "result_channel": self.config.access_token},
                "Invalid result channel",
            ),
            (
                {**base, "result_channel": "l10n_fr_pos_caisse_ap_ip.result.0"},
                "Invalid result channel",
            ),
        ]
        for data, message in bad:
            with self.subTest(data=data), self.assertRaisesRegex(UserError, message):
                self.rpc("caisse_ap_start", data)
        self.assertNothingSent()
        # 12 digits is the limit, not an error.
        self.assertEqual(self.start(9_999_999_999.99)["state"], "pending")

    def test_currency_without_numeric_code(self):
        self.config.currency_id.iso_numeric = False
        with self.assertRaisesRegex(UserError, "no ISO 4217 numeric code"):
            self.start()
        self.assertNothingSent()

    def _offer(self, method, offered):
        """Add ``method`` to the open POS, or take it away."""
        field = self.config._fields["payment_method_ids"]
        table, config, method_column = (
            SQL.identifier(name)
            for name in (field.relation, field.column1, field.column2)
        )
        if offered:
            query = SQL(
                "INSERT INTO %s (%s, %s) VALUES (%s, %s)",
                *(table, config, method_column, self.config.id, method.id),
            )
        else:
            query = SQL(
                "DELETE FROM %s WHERE %s = %s AND %s = %s",
                *(table, config, self.config.id, method_column, method.id),
            )
        self.env.cr.execute(query)
        self.env.invalidate_all()

    def test_status_and_cancel_check_what_a_start_checks(self):
        """Once a payment runs, a status or a cancel is refused for every reason
        a start would be, and for asking through another method."""
        transaction = self.make_transaction("sent")
        hide_method = self._rule_hiding(self.method)
        hide_method.active = False
        refusals = [
            (
                "a rule hides the method",
                lambda: setattr(hide_method, "active", True),
                lambda: setattr(hide_method, "active", False),
                {},
                AccessError,
                "",
            ),
            (
                "the method is archived",
                lambda: self.method._write({"active": False}),
                lambda: self.method._write({"active": True}),
                {},
                UserError,
                "not an active Caisse-AP",
            ),
            (
                # Odoo refuses this while a session is open: written in SQL.
                "the method left the POS",
                lambda: self._offer(self.method, False),
                lambda: self._offer(self.method, True),
                {},
                UserError,
                "not available in",
            ),
            (
                "asked through another method of the POS",
                lambda: self._offer(self.outside_method, True),
                lambda: self._offer(self.outside_method, False),
                {"method": self.outside_method},
                UserError,
                "No terminal transaction",
            ),
            (
                "the shop's company is not enabled",
                lambda: None,
                lambda: None,
                {
                    "user": self.two_company_user,
                    "context": {"allowed_company_ids": self.other_company.ids},
                },
                AccessError,
                "another company",
            ),
        ]
        for reason, refuse, restore, caller, error, message in refusals:
            refuse()
            try:
                for rpc in ("caisse_ap_status", "caisse_ap_cancel"):
                    with (
                        self.subTest(reason=reason, rpc=rpc),
                        self.assertRaisesRegex(error, message),
                    ):
                        self.rpc(rpc, transaction.payment_uuid, **caller)
            finally:
                restore()
        transaction.invalidate_recordset()
        self.assertEqual(transaction.state, "sent")
        # Every check restored: the same caller reads the payment again.
        self.assertEqual(
            self.rpc("caisse_ap_status", transaction.payment_uuid)["state"], "sent"
        )

    def test_status_of_an_unknown_payment(self):
        with self.assertRaisesRegex(UserError, "No terminal transaction"):
            self.rpc("caisse_ap_status", "never-started")

    def test_journal_access(self):
        _started, transaction, _status = self.pay()
        journal = self.env["pos.caisse.ap.transaction"]
        self.assertEqual(journal.with_user(self.pos_user).search([]), transaction)
        self.assertEqual(journal.with_user(self.pos_manager).search([]), transaction)
        with self.assertRaises(AccessError):
            journal.with_user(self.employee).search([])
        with self.assertRaises(AccessError):
            transaction.with_user(self.pos_manager).write({"state": "failure"})
        with self.assertRaises(AccessError):
            transaction.with_user(self.pos_manager).unlink()
        with self.assertRaises(AccessError):
            journal.with_user(self.pos_user).create({"payment_uuid": "forged"})
        # Multi-company: the other company's users do not see it.
        other_user = new_test_user(
            self.env,
            login="caisse_ap_other",
            groups="base.group_user,point_of_sale.group_pos_manager",
            company_id=self.other_company.id,
            company_ids=[(6, 0, self.other_company.ids)],
        )
        self.assertFalse(journal.with_user(other_user).search([]))
