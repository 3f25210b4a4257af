"""Engine tests: plain pytest, no Odoo. The repository root is the import root."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from caisse_ap.request import PaymentRequest  # noqa: E402
from caisse_ap.simulator import Scenario, TerminalSimulator  # noqa: E402


def _package_name(directory: Path) -> str:
    """Dotted name pytest gives a directory holding ``__init__.py`` (prepend mode)."""
    parts = []
    while (directory / "__init__.py").exists():
        parts.append(directory.name)
        directory = directory.parent
    return ".".join(reversed(parts))


def pytest_configure(config: pytest.Config) -> None:
    """Without pytest-odoo, keep pytest from importing the Odoo addon itself.

    The repository root is the addon: pytest would import its ``__init__.py``
    (and ``tests/__init__.py``) as plain packages to look for setup hooks,
    and Odoo models refuse to load outside ``odoo.addons``. Empty stand-ins
    are enough for these engine tests, which import ``caisse_ap`` only.
    Under pytest-odoo (the full run) the real packages are used.
    """
    if config.pluginmanager.has_plugin("odoo"):
        return
    for directory in (ROOT, ROOT / "tests"):
        name = _package_name(directory)
        if name and name not in sys.modules:
            stand_in = types.ModuleType(name)
            stand_in.__file__ = str(directory / "__init__.py")
            stand_in.__path__ = [str(directory)]
            sys.modules[name] = stand_in


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    """Every test must stop the threads it started (simulators included)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra:
            return
        time.sleep(0.02)
    pytest.fail(f"threads left behind: {extra}")


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., TerminalSimulator]]:
    """Factory of started simulators on 127.0.0.1, port 0; all stopped at teardown."""
    started: list[TerminalSimulator] = []

    def make(scenario: Scenario | None = None, **options: object) -> TerminalSimulator:
        simulator = TerminalSimulator(
            "127.0.0.1", 0, scenario or Scenario(delay=0), **options
        )
        started.append(simulator)
        simulator.start()
        return simulator

    yield make
    for simulator in started:
        simulator.stop()


@pytest.fixture
def simulator(make_simulator: Callable[..., TerminalSimulator]) -> TerminalSimulator:
    return make_simulator()


@pytest.fixture
def request_1250() -> PaymentRequest:
    return PaymentRequest(amount=1250, currency_numeric=978)
