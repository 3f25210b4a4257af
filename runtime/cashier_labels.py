"""What a cashier reads for the terminal's codes, in the user's language.

The engine returns codes (AF failure reason, CC application, CI read mode);
their words are Odoo lazy translations, so that the addon's catalogues
(fr.po, es.po...) cover them like every other text.
"""

import re

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
