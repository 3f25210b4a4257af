"""How a simulated terminal shapes its answers: one profile per kind of terminal.

The scenario says what happens (approval, refusal, silence...); the profile
says what the terminal's answer looks like. Profiles follow the fact sheet's
"Behaviour seen on real terminals", so that the engine is tested against
answers it did not write itself:

- ``ingenico`` (the default): an Ingenico Desk/5000 running CONCERT V3. It
  repeats every request tag, adds card data on card approvals (CC, CI, AC,
  AA, AI, AB, CG), answers approvals with its own private data in CF
  (``1010000000``) whatever the request carried, keeps the connection open
  after answering, fails every check with AF=04, answers a request missing
  CZ/CJ/CA/CB/CD/CE at once with AE=01 AF=09 and BA=1 at once with AE=11.
- ``minimal``: the least an answer can hold: AE, the CA/CB/CD/CE echoes and
  AC (what the OCA module reads); the terminal closes after answering.
- ``strict_echo``: the simulator's behaviour before the profiles existed
  (CZ/CA/CB/CD/CE/CF echoed, CF echoed unchanged, closes after answering).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PROFILE = "ingenico"
INGENICO_PRIVATE_DATA = "1010000000"
INGENICO_AID = "A0000000421010"
INGENICO_CONTRACT = "1234567"


@dataclass(frozen=True)
class TerminalProfile:
    name: str
    summary: str
    # Request tags repeated in every answer; None: every tag of the request.
    echo_tags: tuple[str, ...] | None
    # A request missing one of them is answered at once with AE=01 AF=09.
    mandatory_tags: tuple[str, ...]
    # Tags added to an approval for a card, then for a check or ANCV vouchers.
    card_tags: tuple[str, ...]
    forced_application_tags: tuple[str, ...]
    # CF on approvals: the terminal's own value replaces the request's.
    private_data: str = ""
    keep_open: bool = False
    # AF of every failed check or ANCV payment ("" keeps the scenario's code).
    forced_application_failure: str = ""
    # BA=1 (immediate acknowledgement) is answered at once with AE=11.
    acknowledges_ba: bool = False


PROFILES: dict[str, TerminalProfile] = {
    profile.name: profile
    for profile in (
        TerminalProfile(
            name="ingenico",
            summary="Ingenico Desk/5000 CONCERT V3: echoes every tag, own CF, "
            "keeps the connection open",
            echo_tags=None,
            mandatory_tags=("CZ", "CJ", "CA", "CB", "CD", "CE"),
            card_tags=("CC", "CI", "AC", "AA", "AI", "AB", "CG"),
            forced_application_tags=(),
            private_data=INGENICO_PRIVATE_DATA,
            keep_open=True,
            forced_application_failure="04",
            acknowledges_ba=True,
        ),
        TerminalProfile(
            name="minimal",
            summary="AE, the CA/CB/CD/CE echoes and AC only; closes after answering",
            echo_tags=("CA", "CB", "CD", "CE"),
            mandatory_tags=("CA", "CB", "CD", "CE"),
            card_tags=("AC",),
            forced_application_tags=("AC",),
        ),
        TerminalProfile(
            name="strict_echo",
            summary="echoes CZ/CA/CB/CD/CE/CF unchanged; closes after answering",
            echo_tags=("CZ", "CA", "CB", "CD", "CE", "CF"),
            mandatory_tags=("CZ", "CA", "CB", "CD", "CE"),
            card_tags=("CC", "CI", "AA", "AB", "AC"),
            forced_application_tags=("AC",),
        ),
    )
}


def get_profile(profile: str | TerminalProfile | None) -> TerminalProfile:
    """The profile named ``profile`` (``None``: the default); ValueError if unknown."""
    if isinstance(profile, TerminalProfile):
        return profile
    name = (profile or DEFAULT_PROFILE).replace("-", "_")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown terminal profile {profile!r}: one of {', '.join(PROFILES)}"
        ) from None
