"""What only the asyncio exchange does: share a loop, be cancelled as a task.

The fault matrix runs over both implementations in test_engine_transport.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from caisse_ap.aio_transport import exchange_async
from caisse_ap.codec import PaymentRequest
from caisse_ap.scenario import Scenario
from caisse_ap.simulator import TerminalSimulator
from caisse_ap.transport import ExchangeResult, Outcome

Factory = Callable[..., TerminalSimulator]


def test_many_exchanges_share_one_loop(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulators = [make_simulator(Scenario(delay=0.3)) for _ in range(5)]

    async def pay_all() -> list[ExchangeResult]:
        return await asyncio.gather(
            *(
                exchange_async(sim.host, sim.port, request_1250, quiet_period=0.1)
                for sim in simulators
            )
        )

    threads = threading.active_count()
    started = time.monotonic()
    results = asyncio.run(pay_all())
    assert [r.outcome for r in results] == [Outcome.SUCCESS] * 5
    assert time.monotonic() - started < 5 * 0.3  # concurrent, not one by one
    assert threading.active_count() == threads


def test_cancelling_the_task_closes_the_socket(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulator = make_simulator(Scenario(kind="hang", delay=0))

    async def cancel_while_waiting() -> None:
        task = asyncio.ensure_future(
            exchange_async(simulator.host, simulator.port, request_1250)
        )
        while not simulator.busy:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        asyncio.run(cancel_while_waiting())
        assert simulator.busy  # the request had been sent when the task ended
    finally:
        simulator.release_hang()
