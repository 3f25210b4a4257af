"""Every message the POS shows a cashier is explained in the README's Usage.

The POS's messages are the _t("...") strings of static/src (the addon's and
the kiosk bridge's): each must appear in readme/USAGE.rst or the bridge's, by
its own words or by the key phrase listed below. A new message without a line
in Usage fails here; a string that is no message is listed, with why, in
NOT_MESSAGES.
"""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BRIDGE = REPO / "bridges" / "l10n_fr_pos_caisse_ap_ip_self_order"
SOURCES = (REPO / "static" / "src", BRIDGE / "static" / "src")
USAGES = (REPO / "readme" / "USAGE.rst", BRIDGE / "readme" / "USAGE.rst")

# The first argument of _t(...): a string in double or single quotes.
TRANSLATED = re.compile(r"""\b_t\(\s*(["'])((?:\\.|(?!\1).)*)\1""", re.S)
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?s")

# Messages whose Usage line quotes a part of them (the README says it shorter).
KEY_PHRASES = {
    "This payment is running on the terminal: it must be cancelled there before "
    "the line can be deleted.": "running on the terminal must be cancelled there",
    "Odoo does not know whether the terminal took the payment of %(amount)s. Check "
    "the terminal screen or its last receipt. Take the payment again another way "
    "only if the customer was not charged; otherwise choose Force done or Retry on "
    "the line.": "Did the terminal charge this payment?",
    "Payment resumed: waiting for the terminal's answer.": "Payment resumed",
    "The amount to send to the terminal must not be zero.": "must not be zero",
    "Odoo could not confirm that the payment was started. Press Retry once the "
    "connection is back: Odoo then follows the payment if the terminal got it, and "
    "sends it otherwise.": "Odoo could not confirm that the payment was started",
    "The Odoo server cannot be reached. The terminal may have received the payment: "
    "do not take it again another way before pressing Retry on this line.": (
        "The payment could not be started"
    ),
    "The Odoo server did not report the terminal's answer in time.": (
        "did not report the terminal's answer in time"
    ),
    "Outcome unknown: check the terminal, then choose Force done or Retry.": (
        "Outcome unknown"
    ),
    "The terminal's answer did not reach Odoo. Check the terminal screen or its "
    "receipt: if the payment was accepted, choose Force done; if it was not, choose "
    "Retry to send it again.": "Payment outcome unknown",
    "Marked as paid by the cashier (terminal outcome unknown).": (
        "Marked as paid by the cashier"
    ),
    "The Odoo server cannot be reached. Check the network connection, then try "
    "again.": "The Odoo server cannot be reached",
    "The payment was not sent to the terminal.": (
        "The payment was not sent to the terminal"
    ),
    "Card: **** %(digits)s": "last 4 digits",
    "Authorisation: %(code)s": "authorisation code",
    "Partial authorisation: %(amount)s authorised": "Partial payment",
    # The kiosk bridge: the till's dialog for a kiosk payment of unknown outcome.
    "At the kiosk, the customer's card payment of %(amount)s (%(method)s, "
    "%(date)s) got no answer from the terminal: the customer may have paid. Check "
    "the terminal's receipt or its last transactions. Was it paid?": (
        "Kiosk payment outcome unknown"
    ),
    "Order %s is paid: the kiosk payment was booked.": "books the kiosk's payment",
    "Your order has been paid": "Payment approved",
}

# Strings of _t() that are not messages, and why.
NOT_MESSAGES = {
    "Check": "the payment mode printed on the receipt, not a message",
    "ANCV holiday vouchers": "the payment mode printed on the receipt, not a message",
    "Payment terminal": "the title of the zero-amount pop-up, whose text is listed",
}


def messages():
    """{message: file that shows it} of every _t() string of the POS."""
    found = {}
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.js")):
            for match in TRANSLATED.finditer(path.read_text(encoding="utf-8")):
                text = match.group(2).replace("\\'", "'").replace('\\"', '"')
                found[text] = path.relative_to(REPO)
    return found


def usage_text():
    """The Usage fragments as a reader sees them: no markup, one space."""
    text = " ".join(path.read_text(encoding="utf-8") for path in USAGES)
    text = re.sub(r"[*`]", "", text)
    return re.sub(r"\s+", " ", text).lower()


def phrase_of(message):
    """What Usage must quote: the listed key phrase, or the message's own words
    (the longest part between its placeholders, without its final stop)."""
    if message in KEY_PHRASES:
        return KEY_PHRASES[message]
    parts = [part.strip(" .:") for part in PLACEHOLDER.split(message)]
    return max(parts, key=len)


def test_the_pos_messages_are_found():
    found = messages()
    # The extraction itself: a few messages known to be in static/src.
    assert "Did the terminal charge this payment?" in found
    assert "Kiosk payment outcome unknown" in found
    assert len(found) > 30


@pytest.mark.parametrize("message", sorted(messages()))
def test_usage_explains_each_pos_message(message):
    if message in NOT_MESSAGES:
        return
    phrase = re.sub(r"\s+", " ", phrase_of(message).replace("*", "")).lower()
    assert phrase in usage_text(), (
        f"{messages()[message]} shows {message!r}, which readme/USAGE.rst (or the "
        f"bridge's) never mentions: say there what the cashier does about it, "
        f"quoting {phrase!r}, or list it in KEY_PHRASES or NOT_MESSAGES"
    )


def test_the_lists_name_only_current_strings():
    found = messages()
    stale = sorted(set(KEY_PHRASES) - set(found)) + sorted(
        set(NOT_MESSAGES) - set(found)
    )
    assert stale == [], "no longer in static/src: remove them from the lists"
