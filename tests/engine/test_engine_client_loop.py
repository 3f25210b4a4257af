"""What only the asyncio client shows: a shared loop, task cancellation, and
an answer arriving while the loop is stalled."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from caisse_ap import ExchangeResult, Outcome, PaymentRequest, exchange_async
from caisse_ap.simulator import PROFILES, Scenario, TerminalSimulator

Factory = Callable[..., TerminalSimulator]


def test_many_exchanges_share_one_loop(
    make_simulator: Factory, request_1250: PaymentRequest
) -> None:
    simulators = [make_simulator(Scenario(delay=0.3)) for _ in range(5)]

    async def pay_all() -> list[ExchangeResult]:
        return await asyncio.gather(
            *(
                exchange_async(
                    sim.host, sim.port, request_1250, quiet_period=0.1, allow_local=True
                )
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
            exchange_async(
                simulator.host, simulator.port, request_1250, allow_local=True
            )
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


# The loop is blocked from STALL_AT to STALL_AT + STALL seconds after the
# request leaves; the terminal answers at ANSWER_AT, inside the stall, and
# the client's first wait (0.2 s, its cancel poll) also expires inside it.
# When the loop wakes, "data ready" and "wait timed out" are both due at
# once. A client that cancels its receive on the timeout (``wait_for(
# sock_recv(...))``) loses the bytes the receive already took from the
# socket on Python 3.12 and 3.13: the approval became "no_answer".
STALL_AT, STALL, ANSWER_AT = 0.05, 0.5, 0.1


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_an_answer_arriving_while_the_loop_is_stalled_is_not_lost(
    make_simulator: Factory, request_1250: PaymentRequest, profile: str
) -> None:
    simulator = make_simulator(Scenario(delay=ANSWER_AT), profile=profile)

    async def pay_with_a_stall() -> ExchangeResult:
        loop = asyncio.get_running_loop()
        # A request thread holding the GIL, a slow log handler...
        loop.call_later(STALL_AT, time.sleep, STALL)
        return await exchange_async(
            simulator.host,
            simulator.port,
            request_1250,
            answer_timeout=3,
            quiet_period=0.1,
            allow_local=True,
        )

    result = asyncio.run(pay_with_a_stall())
    assert result.outcome is Outcome.SUCCESS, result.error
    assert result.result.auth_code == "123456"
