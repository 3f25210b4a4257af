"""English names of the terminal's codes, for logs and the command line.

The engine returns codes (AF, CC, CI); what a cashier reads is the Odoo
addon's business, translated there (``runtime/cashier_labels.py``, the one
table of the cashier's words). This copy stays here because the engine and the
shop relay import nothing but the standard library; the addon's tests check it
holds the same codes and the same English text as that table.
Codes missing from the tables get a readable fallback.
"""

from __future__ import annotations

FAILURE_LABELS: dict[str, str] = {
    "00": "Unspecified error",
    "01": "Authorised",
    "02": "Phone authorisation required",
    "03": "Forced",
    "04": "Refused",
    "05": "Forbidden",
    "06": "Abandoned",
    "07": "Not completed",
    "08": "Input timeout",
    "09": "Message format error",
    "10": "Selection error",
    "11": "Cancelled by the operator",
    "12": "Unknown action type",
    "13": "Currency not supported",
}

APPLICATION_LABELS: dict[str, str] = {
    "000": "Other",
    "001": "CB (contact)",
    "002": "American Express (contact)",
    "003": "CB Enseigne",
    "005": "Cofinoga",
    "006": "Diners",
    "007": "CB-Pass",
    "008": "Franfinance",
    "009": "JCB",
    "00A": "Banque Accord",
    "00B": "CB (contactless)",
    "00C": "Check",
    "00D": "American Express (contactless)",
    "00E": "CMCIC-Pay",
    "00G": "UnionPay QuickPass (contactless)",
    "00I": "CPEI",
    "00S": "Store card",
    "00U": "UnionPay / NX3",
    "00V": "ANCV holiday vouchers",
}

READ_MODE_LABELS: dict[str, str] = {
    "0": "Any",
    "1": "Chip (contact)",
    "2": "Contactless",
    "3": "Magnetic stripe",
    "4": "Manual entry",
}


def failure_label(code: str) -> str:
    """Name of an AF reason (its first two characters)."""
    if not code:
        return "No reason given"
    return FAILURE_LABELS.get(code) or f"Unknown reason ({code})"


def application_label(code: str) -> str:
    """Name of a CC application code; '' when the terminal sent none."""
    if not code:
        return ""
    return APPLICATION_LABELS.get(code) or f"Unknown application ({code})"


def read_mode_label(code: str) -> str:
    """Name of a CI read mode; '' when the terminal sent none."""
    if not code:
        return ""
    return READ_MODE_LABELS.get(code) or f"Unknown read mode ({code})"
