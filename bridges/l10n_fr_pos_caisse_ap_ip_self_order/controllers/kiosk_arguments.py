"""What a self-order request may carry: every argument, what is checked.

A kiosk's access token sits in its page and a table's self-order token is
printed on a QR code: whoever holds one can post any JSON to these routes.
Each argument the caller controls is checked here, before Odoo's endpoint
stores anything, and each row names the test that tries it as an attack
(``tests/test_kiosk_attacks.py``, through the HTTP route). "payment" is
``/kiosk/payment/<pos_config_id>/<device_type>``, "order" is also
``/pos-self-order/process-order/<device_type>/`` (which the payment route
calls), "status" is ``/kiosk/caisse_ap/status/<pos_config_id>``.

The prices the order carries are not trusted: the server prices every line
itself (``pos.order._caisse_ap_kiosk_server_total``), refuses an order whose
total differs, and charges that, minus the approvals this addon booked.
"""

import math
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError

from odoo.addons.l10n_fr_pos_caisse_ap_ip.models.pos_payment_method import (
    TERMINAL_KEY,
)

# Customers order one after the other at a kiosk: more new orders than this
# in a minute come from a copied token, and would fill the database.
KIOSK_NEW_ORDERS_PER_MINUTE = 10

# (route, argument, what is checked, the test written as its attack)
KIOSK_ARGUMENTS = (
    ("payment", "access_token", "a kiosk POS with an open session (a table's "
     "token is refused)", "test_a_table_token_cannot_pay_on_a_kiosk"),
    ("payment", "pos_config_id (URL)", "the token's POS",
     "test_another_pos_in_the_url_is_refused"),
    ("payment", "device_type (URL)", "kiosk", "test_another_device_type_is_refused"),
    ("payment", "payment_method_id", "an integer; an active Caisse-AP card "
     "method of the token's POS", "test_a_method_of_another_kiosk_is_refused"),
    ("payment", "caisse_ap_start_key", "up to 64 of A-Z a-z 0-9 _ -",
     "test_a_malformed_start_key_is_refused_before_the_order_is_taken"),
    ("payment", "order (being paid)", "an order of the token's POS whose payment "
     "runs, is approved or unknown is answered, not rewritten",
     "test_an_order_being_paid_cannot_be_rewritten"),
    ("order", "order", "a JSON object", "test_an_order_that_is_no_object_is_refused"),
    ("order", "order.uuid, order.id", "a string; the order that has it is a "
     "draft of the token's POS, and order.id is its id (Odoo writes the order "
     "named by id)", "test_an_order_of_another_kiosk_is_not_rewritten"),
    ("order", "order.session_id", "the token's POS's open session",
     "test_an_order_in_another_session_is_refused"),
    ("order", "order.config_id", "absent or the token's POS",
     "test_an_order_naming_another_pos_is_refused"),
    ("order", "order.company_id", "absent or the POS's company",
     "test_an_order_of_another_company_is_refused"),
    ("order", "order.payment_ids", "absent or empty: only the terminal's "
     "approvals pay", "test_made_up_payment_lines_are_refused"),
    ("order", "order.state", "absent or draft", "test_an_order_posted_paid_is_refused"),
    ("order", "order.lines", "creations, or updates of the order's own lines; "
     "whole quantities above 0; no discount, refund or combo link to another "
     "line than the order's", "test_lines_that_lower_the_total_are_refused"),
    ("order", "line prices, taxes, totals", "ignored: the server prices the "
     "lines and refuses an order whose total differs (none is paid at zero)",
     "test_an_order_priced_zero_is_refused"),
    ("order", "combo lines", "priced from the combo data; its items one of "
     "each of its combos, in this order",
     "test_a_combo_parent_priced_negative_is_refused"),
    ("order", "new orders of a kiosk",
     f"at most {KIOSK_NEW_ORDERS_PER_MINUTE} a minute",
     "test_new_orders_of_a_kiosk_are_limited"),
    ("status", "pos_config_id (URL), access_token", "the token's POS",
     "test_the_status_of_another_pos_order_is_not_told"),
    ("status", "order_access_token", "an order of the token's POS",
     "test_the_status_of_another_pos_order_is_not_told"),
)  # fmt: skip

LINE_COMMANDS = (0, 1)  # create, update: never link, unlink or replace lines
# Odoo's self-order line links a combo item to any line of any order by uuid.
FORBIDDEN_LINE_KEYS = (
    "discount",
    "refunded_orderline_id",
    "combo_parent_uuid",
    "combo_parent_id",
)


def check_payment_request(config, pos_config_id, device_type, payment_method_id):
    """The payment method of a kiosk's payment request; raises a translated
    UserError on any "payment" row above (the order: ``check_order``).

    ``config`` is the POS whose token Odoo verified, with the kiosk's user.
    """
    _ = config.env._
    if (
        config.self_ordering_mode != "kiosk"
        or pos_config_id != config.id
        or device_type != "kiosk"
    ):
        raise UserError(_("This payment request does not come from this kiosk."))
    return check_method(config, payment_method_id)


def check_order(config, order):
    """The order that ``order`` names on the server (or an empty recordset for
    a new one); raises a translated UserError on any "order" row above."""
    _ = config.env._
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
    _check_lines(config.env, order.get("lines", []), existing)
    if not existing and config.self_ordering_mode == "kiosk":
        _check_new_orders_rate(config, session)
    return existing


def _check_new_orders_rate(config, session):
    since = fields.Datetime.now() - timedelta(minutes=1)
    recent = (
        config.env["pos.order"]
        .sudo()
        .search_count(
            [("session_id", "=", session.id), ("create_date", ">=", since)],
            limit=KIOSK_NEW_ORDERS_PER_MINUTE,
        )
    )
    if recent >= KIOSK_NEW_ORDERS_PER_MINUTE:
        config.env["pos.caisse.ap.transaction"]._caisse_ap_kiosk_log_limit(
            config, f"{recent} orders created within a minute"
        )
        raise UserError(
            config.env._(
                "Too many orders from this kiosk: please wait a minute or order "
                "at the counter."
            )
        )


def existing_order(config, order):
    """The order that ``order``'s uuid names, if any: a draft of this POS,
    and the one ``order.id`` names too."""
    _ = config.env._
    uuid = order.get("uuid")
    if not isinstance(uuid, str) or not uuid:
        raise UserError(_("Invalid order."))
    found = config.env["pos.order"].sudo().search([("uuid", "=", uuid)], limit=1)
    if found and (found.config_id != config or found.state != "draft"):
        raise UserError(_("This order does not belong to this kiosk."))
    # Odoo updates the order that "id" names once the uuid found one.
    order_id = order.get("id")
    if (found or isinstance(order_id, (int, float))) and order_id != found.id:
        raise UserError(_("This order does not belong to this kiosk."))
    return found


def check_method(config, payment_method_id):
    env = config.env
    method = env["pos.payment.method"].sudo()
    if type(payment_method_id) is int:
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
        if not _is_whole_quantity(values.get("qty", 1)):
            raise UserError(
                _(
                    "Each product of a kiosk order must have a whole quantity "
                    "above zero."
                )
            )
        if any(values.get(key) for key in FORBIDDEN_LINE_KEYS):
            raise UserError(_("A kiosk order cannot carry discounts or refunds."))


def _is_whole_quantity(qty):
    """A count of items: what a kiosk sells (NaN and infinities are not)."""
    return (
        type(qty) in (int, float) and math.isfinite(qty) and qty > 0 and qty == int(qty)
    )
