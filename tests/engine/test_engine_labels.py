"""Labels: English by default, French on request, readable fallbacks."""

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


def test_every_documented_failure_code_has_both_languages() -> None:
    assert sorted(FAILURE_LABELS) == [f"{code:02d}" for code in range(14)]
    for english, french in FAILURE_LABELS.values():
        assert english and french


def test_documented_applications_and_read_modes() -> None:
    documented = (
        "001 00B 002 00D 003 005 006 007 008 009 00A 00C 00E 00G 00I 00S 00U 00V 000"
    )
    assert set(APPLICATION_LABELS) == set(documented.split())
    assert set(READ_MODE_LABELS) == {"0", "1", "2", "3", "4"}


@pytest.mark.parametrize(
    ("function", "code", "english", "french"),
    [
        (failure_label, "04", "Refused", "Refusée"),
        (failure_label, "13", "Currency not supported", "Devise non acceptée"),
        (failure_label, "42", "Unknown reason (42)", "Motif inconnu (42)"),
        (failure_label, "", "No reason given", "Motif non communiqué"),
        (application_label, "00C", "Check", "Chèque"),
        (
            application_label,
            "0XY",
            "Unknown application (0XY)",
            "Application inconnue (0XY)",
        ),
        (application_label, "", "", ""),
        (read_mode_label, "1", "Chip (contact)", "Puce (contact)"),
        (read_mode_label, "7", "Unknown read mode (7)", "Mode de lecture inconnu (7)"),
        (read_mode_label, "", "", ""),
    ],
)
def test_labels(function, code: str, english: str, french: str) -> None:
    assert function(code) == english
    assert function(code, "en") == english
    assert function(code, "fr") == french
    assert function(code, "fr_BE") == french
    assert function(code, "de_DE") == english
