"""English names of the codes (logs, command line), readable fallbacks.

The cashier's words are Odoo translations (runtime/cashier_labels.py); the
Odoo tests check this copy is their English (tests/test_backend_labels.py)."""

from __future__ import annotations

import pytest

from caisse_ap.labels import (
    APPLICATION_LABELS,
    FAILURE_LABELS,
    READ_MODE_LABELS,
    application_label,
    failure_label,
    read_mode_label,
)


def test_every_documented_code_has_a_name() -> None:
    assert sorted(FAILURE_LABELS) == [f"{code:02d}" for code in range(14)]
    documented = (
        "001 00B 002 00D 003 005 006 007 008 009 00A 00C 00E 00G 00I 00S 00U 00V 000"
    )
    assert set(APPLICATION_LABELS) == set(documented.split())
    assert set(READ_MODE_LABELS) == {"0", "1", "2", "3", "4"}
    assert all(FAILURE_LABELS.values())


@pytest.mark.parametrize(
    ("function", "code", "english"),
    [
        (failure_label, "04", "Refused"),
        (failure_label, "13", "Currency not supported"),
        (failure_label, "42", "Unknown reason (42)"),
        (failure_label, "", "No reason given"),
        (application_label, "00C", "Check"),
        (application_label, "0XY", "Unknown application (0XY)"),
        (application_label, "", ""),
        (read_mode_label, "1", "Chip (contact)"),
        (read_mode_label, "7", "Unknown read mode (7)"),
        (read_mode_label, "", ""),
    ],
)
def test_labels(function, code: str, english: str) -> None:
    assert function(code) == english
