"""Simulated Caisse-AP terminals, for tests, demos and benchmarks.

The profile (:mod:`.profiles`) shapes the answers like a kind of real
terminal; the scenario (:mod:`.scenario`) decides what happens to each
transaction; :mod:`.answers` builds the answer bytes (pure functions) and
:mod:`.server` serves them over TCP. Command line: ``python -m
caisse_ap.simulator --help``.
"""

from ..loop_thread import LoopThread
from .profiles import DEFAULT_PROFILE, PROFILES, TerminalProfile, get_profile
from .scenario import KINDS, Scenario
from .server import BUSY_BEHAVIOURS, MultiTerminalSimulator, TerminalSimulator

DEFAULT_PORT = 8888

__all__ = [
    "BUSY_BEHAVIOURS",
    "DEFAULT_PORT",
    "DEFAULT_PROFILE",
    "KINDS",
    "PROFILES",
    "LoopThread",
    "MultiTerminalSimulator",
    "Scenario",
    "TerminalProfile",
    "TerminalSimulator",
    "get_profile",
]
