"""The cashier's words: the one table of what the server tells a cashier (or
a POS manager) about a payment, in the user's language.

Codes go in, text comes out: the terminal's codes (AF failure reason, CC
application, CI read mode), the engine's reasons for not sending, the states
of a transaction, the kinds of address the address policy refuses and the
kinds of journal entries that need attention. The words are Odoo
translations, so that the addon's catalogues (fr.po, es.po...) cover them like
every other text; the models, the POS and the kiosk bridge word none of these
codes themselves.

The engine (``caisse_ap/labels.py``, standard library only: the shop relay
runs without Odoo) keeps English names of the terminal's codes for its logs
and command line; a test checks they are this table's English, text included.
"""

import re

from odoo.tools import format_amount
from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

FAILURE_LABELS = {
    "00": _lt("Unspecified error"),
    "01": _lt("Authorised"),
    "02": _lt("Phone authorisation required"),
    "03": _lt("Forced"),
    "04": _lt("Refused"),
    "05": _lt("Forbidden"),
    "06": _lt("Abandoned"),
    "07": _lt("Not completed"),
    "08": _lt("Input timeout"),
    "09": _lt("Message format error"),
    "10": _lt("Selection error"),
    "11": _lt("Cancelled by the operator"),
    "12": _lt("Unknown action type"),
    "13": _lt("Currency not supported"),
}

APPLICATION_LABELS = {
    "000": _lt("Other"),
    "001": _lt("CB (contact)"),
    "002": _lt("American Express (contact)"),
    "003": _lt("CB Enseigne"),
    "005": _lt("Cofinoga"),
    "006": _lt("Diners"),
    "007": _lt("CB-Pass"),
    "008": _lt("Franfinance"),
    "009": _lt("JCB"),
    "00A": _lt("Banque Accord"),
    "00B": _lt("CB (contactless)"),
    "00C": _lt("Check"),
    "00D": _lt("American Express (contactless)"),
    "00E": _lt("CMCIC-Pay"),
    "00G": _lt("UnionPay QuickPass (contactless)"),
    "00I": _lt("CPEI"),
    "00S": _lt("Store card"),
    "00U": _lt("UnionPay / NX3"),
    "00V": _lt("ANCV holiday vouchers"),
}

READ_MODE_LABELS = {
    "0": _lt("Any"),
    "1": _lt("Chip (contact)"),
    "2": _lt("Contactless"),
    "3": _lt("Magnetic stripe"),
    "4": _lt("Manual entry"),
}


def failure_label(env, code):
    """The reason of an AF code in ``env``'s language."""
    if not code:
        return env._("No reason given")
    label = FAILURE_LABELS.get(code)
    return env._(label) if label else env._("Unknown reason (%s)", code)


def application_label(env, code):
    """The card application of a CC code; '' when the terminal sent none."""
    if not code:
        return ""
    label = APPLICATION_LABELS.get(code)
    return env._(label) if label else env._("Unknown application (%s)", code)


def read_mode_label(env, code):
    """The read mode of a CI code; '' when the terminal sent none."""
    if not code:
        return ""
    label = READ_MODE_LABELS.get(code)
    return env._(label) if label else env._("Unknown read mode (%s)", code)


# Why a payment was not sent, as the engine (caisse_ap/client.py) and the
# sweeps word it in English for the journal and the logs, matched to the
# words a cashier reads. A test checks every engine wording is matched.
NOT_SENT_REASONS = {
    r"connection to (?P<where>\S+) refused\b": _lt(
        "no terminal answers at %(where)s (is it on and connected?)"
    ),
    r"connection to (?P<where>\S+) timed out\b": _lt(
        "the terminal at %(where)s could not be reached (is it on and connected?)"
    ),
    r"cannot resolve host '(?P<host>[^']*)'": _lt(
        "the terminal's address %(host)s is not known on the network"
    ),
    r"cannot connect to (?P<where>\S+):": _lt(
        "the terminal at %(where)s could not be reached"
    ),
    r"no terminal host configured": _lt(
        "no terminal address is set on the payment method"
    ),
    r"invalid port (?P<port>\S+)": _lt("the terminal's port %(port)s is not valid"),
    r"not sent: the shop relay (?P<relay>.+) did not take the request": _lt(
        "the shop relay %(relay)s did not take the payment (is it running?)"
    ),
    r"never sent: no worker sent the request": _lt(
        "Odoo stopped before sending it (was the server restarted?)"
    ),
}
_NOT_SENT_PATTERNS = [
    (re.compile(pattern), label) for pattern, label in NOT_SENT_REASONS.items()
]


def not_sent_reason(env, error):
    """Why nothing was sent, in ``env``'s language; the engine's own words
    when they are not known here (an integrator can still read them)."""
    for pattern, label in _NOT_SENT_PATTERNS:
        found = pattern.match(error or "")
        if found:
            return env._(label) % found.groupdict()
    return error or ""


def transaction_message(transaction):
    """What the cashier reads about an attempt (a ``pos.caisse.ap.transaction``),
    in its environment's language.

    The one place that words a transaction's state: the POS shows it as it is
    and words only what it alone knows (a lost connection, its dialogs).
    """
    env = transaction.env
    _ = env._
    state = transaction.state
    if state == "pending":
        return _("Sending the payment to the terminal…")
    if state == "sent":
        return _("Waiting for the customer on the terminal.")
    if state == "cancel_requested":
        return _(
            "Press the red button on the terminal to cancel the payment. The line "
            "will be updated when the terminal answers."
        )
    if state == "success":
        return _approval_notes(transaction)
    if state == "failure":
        if not transaction.failure_code:
            return _("Payment refused by the terminal (no reason given).")
        return _(
            "Payment refused by the terminal: %(reason)s (code %(code)s).",
            reason=failure_label(env, transaction.failure_code),
            code=transaction.failure_code,
        )
    if state == "unknown":
        return _(
            "The outcome of the payment is unknown: check on the terminal whether "
            "it went through before retrying or validating the payment."
        )
    if transaction.cancel_requested and not transaction.sent_at:
        return _("The payment was cancelled before being sent to the terminal.")
    return _(
        "The payment was not sent to the terminal, the customer was not charged: %s",
        not_sent_reason(env, transaction.error_message),
    )


def _approval_notes(transaction):
    """What an approval says beyond itself: '' for a plain one."""
    env = transaction.env
    _ = env._
    notes = []
    if transaction.partial:
        notes.append(
            _(
                "Partial payment: the terminal authorised only %(authorised)s "
                "out of %(requested)s; the rest of the order is still due.",
                authorised=format_amount(
                    env, transaction.amount_authorised, transaction.currency_id
                ),
                requested=format_amount(
                    env, transaction.amount, transaction.currency_id
                ),
            )
        )
    if transaction.cancel_requested:
        notes.append(
            _(
                "The terminal approved the payment although a cancel was "
                "requested: the customer has paid."
            )
        )
    return " ".join(notes)


# The journal entries a person should look at, by kind: each kind is also a
# column of the transaction's attention query (models/pos_caisse_ap_transaction.py).
ATTENTION_KINDS = {
    "approved_unlinked": _lt("Approved, but no sale recorded"),
    "forced_without_approval": _lt("Payment forced done without an approval"),
    "unknown_unresolved": _lt("Unknown outcome never resolved"),
    "late_answer_after_cancel": _lt("Approved after a cancel request"),
    "link_mismatch": _lt("POS payment does not match the transaction"),
    "possibly_twice": _lt(
        "Possibly charged or credited twice: approved after an attempt whose "
        "outcome is unknown"
    ),
}

# What the address policy (caisse_ap/address.py) found a terminal address to be.
REFUSED_KINDS = {
    "loopback": _lt("a loopback address"),
    "link-local": _lt("a link-local address"),
    "unspecified": _lt("an unspecified address"),
    "multicast": _lt("a multicast address"),
    "own": _lt("an address of the machine that connects to the terminal itself"),
    "metadata": _lt("a cloud metadata address"),
}


def address_refusal(env, kind, *, host, address, method, parameters):
    """Why the address policy refused ``host`` (that resolves to ``address``,
    or is that address) of payment method ``method``: the cashier's and the
    manager's words. ``parameters``: the system parameters an administrator
    sets, ``{"allow_local": name, "networks": name}``."""
    _ = env._
    values = {
        "host": host,
        "address": address,
        "method": method,
        "kind": REFUSED_KINDS.get(kind, kind),
    }
    if kind == "outside":
        return _(
            "The terminal address %(host)s of payment method %(method)s "
            "(%(address)s) is not on a network where terminals are allowed: "
            "nothing was sent to it. Terminals are on the shop's private "
            "network (e.g. 192.168.1.50). A system administrator lists other "
            "networks in the system parameter %(parameter)s.",
            parameter=parameters["networks"],
            **values,
        )
    if kind == "metadata":
        return _(
            "The terminal address %(host)s of payment method %(method)s "
            "(%(address)s) is %(kind)s, never a payment terminal: nothing was "
            "sent to it.",
            **values,
        )
    if host == address:
        return _(
            "The terminal address %(address)s of payment method %(method)s is "
            "%(kind)s, which reaches the Odoo server's own network rather than a "
            "payment terminal. Enter the terminal's address on the shop network "
            "(e.g. 192.168.1.50). To use a terminal simulator on the server "
            "itself, a system administrator sets the system parameter "
            "%(parameter)s to 1.",
            parameter=parameters["allow_local"],
            **values,
        )
    return _(
        "The terminal address %(host)s of payment method %(method)s resolves to "
        "%(address)s, %(kind)s, which reaches the server's own network rather "
        "than a payment terminal: nothing was sent to it. Check the terminal's "
        "DNS name. To use a terminal simulator on the server itself, a system "
        "administrator sets the system parameter %(parameter)s to 1.",
        parameter=parameters["allow_local"],
        **values,
    )
