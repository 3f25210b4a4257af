"""Human-readable labels for terminal codes, in English (default) or French.

``lang`` may be an Odoo language code such as ``fr_FR``: only its first two
letters count, and anything but French falls back to English.
"""

from __future__ import annotations

# code: (English, French)
FAILURE_LABELS: dict[str, tuple[str, str]] = {
    "00": ("Unspecified error", "Erreur non précisée"),
    "01": ("Authorised", "Autorisée"),
    "02": ("Phone authorisation required", "Autorisation par téléphone requise"),
    "03": ("Forced", "Forcée"),
    "04": ("Refused", "Refusée"),
    "05": ("Forbidden", "Interdite"),
    "06": ("Abandoned", "Abandonnée"),
    "07": ("Not completed", "Non aboutie"),
    "08": ("Input timeout", "Délai de saisie dépassé"),
    "09": ("Message format error", "Erreur de format du message"),
    "10": ("Selection error", "Erreur de sélection"),
    "11": ("Cancelled by the operator", "Annulée par l'opérateur"),
    "12": ("Unknown action type", "Type d'action inconnu"),
    "13": ("Currency not supported", "Devise non acceptée"),
}

APPLICATION_LABELS: dict[str, tuple[str, str]] = {
    "000": ("Other", "Autre"),
    "001": ("CB (contact)", "CB (contact)"),
    "002": ("American Express (contact)", "American Express (contact)"),
    "003": ("CB Enseigne", "CB Enseigne"),
    "005": ("Cofinoga", "Cofinoga"),
    "006": ("Diners", "Diners"),
    "007": ("CB-Pass", "CB-Pass"),
    "008": ("Franfinance", "Franfinance"),
    "009": ("JCB", "JCB"),
    "00A": ("Banque Accord", "Banque Accord"),
    "00B": ("CB (contactless)", "CB (sans contact)"),
    "00C": ("Check", "Chèque"),
    "00D": ("American Express (contactless)", "American Express (sans contact)"),
    "00E": ("CMCIC-Pay", "CMCIC-Pay"),
    "00G": ("UnionPay QuickPass (contactless)", "UnionPay QuickPass (sans contact)"),
    "00I": ("CPEI", "CPEI"),
    "00S": ("Store card", "Carte privative"),
    "00U": ("UnionPay / NX3", "UnionPay / NX3"),
    "00V": ("ANCV holiday vouchers", "Chèques-Vacances ANCV"),
}

READ_MODE_LABELS: dict[str, tuple[str, str]] = {
    "0": ("Any", "Indifférent"),
    "1": ("Chip (contact)", "Puce (contact)"),
    "2": ("Contactless", "Sans contact"),
    "3": ("Magnetic stripe", "Piste magnétique"),
    "4": ("Manual entry", "Saisie manuelle"),
}

# (English, French) templates for codes that are absent or not in the tables.
_NO_FAILURE_CODE = ("No reason given", "Motif non communiqué")
_UNKNOWN_FAILURE = ("Unknown reason ({code})", "Motif inconnu ({code})")
_UNKNOWN_APPLICATION = ("Unknown application ({code})", "Application inconnue ({code})")
_UNKNOWN_READ_MODE = ("Unknown read mode ({code})", "Mode de lecture inconnu ({code})")

LANGUAGES = ("en", "fr")


def _index(lang: str) -> int:
    return 1 if isinstance(lang, str) and lang[:2].lower() == "fr" else 0


def _label(
    table: dict[str, tuple[str, str]], unknown: tuple[str, str], code: str, lang: str
) -> str:
    known = table.get(code)
    if known:
        return known[_index(lang)]
    return unknown[_index(lang)].format(code=code)


def failure_label(code: str, lang: str = "en") -> str:
    """Label of an AF reason (its first two characters)."""
    if not code:
        return _NO_FAILURE_CODE[_index(lang)]
    return _label(FAILURE_LABELS, _UNKNOWN_FAILURE, code, lang)


def application_label(code: str, lang: str = "en") -> str:
    """Label of a CC application code; '' when the terminal sent none."""
    if not code:
        return ""
    return _label(APPLICATION_LABELS, _UNKNOWN_APPLICATION, code, lang)


def read_mode_label(code: str, lang: str = "en") -> str:
    """Label of a CI read mode; '' when the terminal sent none."""
    if not code:
        return ""
    return _label(READ_MODE_LABELS, _UNKNOWN_READ_MODE, code, lang)
