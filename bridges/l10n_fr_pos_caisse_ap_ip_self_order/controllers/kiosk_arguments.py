"""What a kiosk's requests may carry: every argument, who controls it, what is checked.

A kiosk's access token sits in its page and a table's self-order token is
printed on a QR code: whoever holds one can post any JSON to these routes.
Each argument the caller controls is checked here, before Odoo's endpoint
stores anything, and each row names the test that tries it as an attack
(``tests/test_kiosk_attacks.py``, through the HTTP route).

The order's prices are not in this table: the server prices every line itself
(``pos.order._caisse_ap_kiosk_server_total``) and charges that, minus the
approvals this addon booked.
"""

from odoo.exceptions import UserError

from odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_payment_method import (
    TERMINAL_KEY,
)

# (route, argument, what is checked, the test written as its attack)
KIOSK_ARGUMENTS = (
    (
        "payment",
        "access_token",
        "a kiosk POS with an open session (a table's self-order token is refused)",
        "test_a_table_token_cannot_pay_on_a_kiosk",
    ),
    (
        "payment",
        "pos_config_id (URL)",
        "the token's POS",
        "test_another_pos_in_the_url_is_refused",
    ),
    ("payment", "device_type (URL)", "kiosk", "test_another_device_type_is_refused"),
    (
        "payment",
        "payment_method_id",
        "an active Caisse-AP card method of the token's POS",
        "test_a_method_of_another_kiosk_is_refused",
    ),
    (
        "payment",
        "caisse_ap_start_key",
        "up to 64 of A-Z a-z 0-9 _ -",
        "test_a_malformed_start_key_is_refused_before_the_order_is_taken",
    ),
    ("payment", "order", "a JSON object", "test_an_order_that_is_no_object_is_refused"),
    (
        "payment",
        "order.uuid",
        "a string; an order that has it is a draft of the "
        "token's POS; one being paid is answered, not rewritten",
        "test_an_order_of_another_kiosk_is_not_rewritten",
    ),
    (
        "payment",
        "order.session_id",
        "the token's POS's open session",
        "test_an_order_in_another_session_is_refused",
    ),
    (
        "payment",
        "order.config_id",
        "absent or the token's POS",
        "test_an_order_naming_another_pos_is_refused",
    ),
    (
        "payment",
        "order.company_id",
        "absent or the POS's company",
        "test_an_order_of_another_company_is_refused",
    ),
    (
        "payment",
        "order.payment_ids",
        "absent or empty: only the terminal's approvals pay",
        "test_made_up_payment_lines_are_refused",
    ),
    (
        "payment",
        "order.state",
        "absent or draft",
        "test_an_order_posted_paid_is_refused",
    ),
    (
        "payment",
        "order.lines",
        "creations, or updates of the order's own lines; "
        "quantity above 0, no discount, no refund",
        "test_lines_that_lower_the_total_are_refused",
    ),
    (
        "payment",
        "line prices, combos, taxes, totals",
        "ignored: the server prices the lines and refuses an order whose total differs",
        "test_a_combo_parent_priced_negative_is_refused",
    ),
    (
        "process-order",
        "order.uuid",
        "an order being paid on the terminal, or paid, is not rewritten",
        "test_an_order_being_paid_cannot_be_rewritten",
    ),
    (
        "status",
        "pos_config_id (URL), access_token",
        "the token's POS",
        "test_the_status_of_another_pos_order_is_not_told",
    ),
    (
        "status",
        "order_access_token",
        "an order of the token's POS",
        "test_the_status_of_another_pos_order_is_not_told",
    ),
)

LINE_COMMANDS = (0, 1)  # create, update: never link, unlink or replace lines


def check_payment_request(config, pos_config_id, device_type, order, payment_method_id):
    """The payment method and the existing order (or an empty recordset) of a
    kiosk's payment request; raises a translated UserError on any row above.

    ``config`` is the POS whose token Odoo verified, with the kiosk's user.
    """
    env = config.env
    _ = env._
    if (
        config.self_ordering_mode != "kiosk"
        or pos_config_id != config.id
        or device_type != "kiosk"
    ):
        raise UserError(_("This payment request does not come from this kiosk."))
    method = _check_method(config, payment_method_id)
    if not isinstance(order, dict):
        raise UserError(_("Invalid order."))
    session = config.sudo().current_session_id
    if order.get("session_id") != session.id:
        raise UserError(
            _(
                "This order does not belong to this kiosk's open session: "
                "please reload the kiosk."
            )
        )
    if order.get("config_id", config.id) != config.id:
        raise UserError(_("This order does not belong to this kiosk."))
    if order.get("company_id", config.company_id.id) != config.company_id.id:
        raise UserError(_("This order does not belong to this kiosk's company."))
    if order.get("payment_ids") not in (None, False, []):
        raise UserError(
            _(
                "An order from the kiosk cannot carry payments: only the "
                "payment terminal pays it."
            )
        )
    if order.get("state", "draft") != "draft":
        raise UserError(_("Invalid order."))
    existing = existing_order(config, order)
    _check_lines(env, order.get("lines", []), existing)
    return method, existing


def existing_order(config, order):
    """The order that ``order``'s uuid names, if any: a draft of this POS."""
    env = config.env
    uuid = order.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise UserError(env._("Invalid order."))
    found = env["pos.order"].sudo().search([("uuid", "=", uuid)], limit=1)
    if found and found.config_id != config:
        raise UserError(env._("This order does not belong to this kiosk."))
    return found


def _check_method(config, payment_method_id):
    env = config.env
    method = env["pos.payment.method"].sudo()
    if isinstance(payment_method_id, int) and not isinstance(payment_method_id, bool):
        method = method.browse(payment_method_id).exists()
    if (
        not method
        or method.use_payment_terminal != TERMINAL_KEY
        or not method.active
        or method.fr_caisse_ap_ip_mode != "card"
        or method not in config.sudo().payment_method_ids
    ):
        raise UserError(env._("This payment method cannot be used on this kiosk."))
    return method


def _check_lines(env, lines, existing):
    _ = env._
    # The kiosk saves its order before paying: then it posts changed lines only.
    if not isinstance(lines, list) or not (lines or existing.lines):
        raise UserError(_("Invalid order."))
    own_lines = set(existing.lines.ids)
    for command in lines:
        if (
            not isinstance(command, (list, tuple))
            or len(command) != 3
            or command[0] not in LINE_COMMANDS
            or not isinstance(command[2], dict)
            or (command[0] == 1 and command[1] not in own_lines)
        ):
            raise UserError(_("Invalid order line."))
        values = command[2]
        qty = values.get("qty", 1)
        if isinstance(qty, bool) or not isinstance(qty, (int, float)) or qty <= 0:
            raise UserError(
                _("Each product of a kiosk order must have a quantity above zero.")
            )
        if values.get("discount") or values.get("refunded_orderline_id"):
            raise UserError(_("A kiosk order cannot carry discounts or refunds."))
