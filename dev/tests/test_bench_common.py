"""The steps bench/common.py gives every benchmark script."""

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import common as c  # noqa: E402  (bench/common.py, by path)


def test_listed_drops_blanks_and_converts():
    assert c.listed("1, 10,,100 ", int) == [1, 10, 100]
    assert c.listed("bus,poll") == ["bus", "poll"]
    assert c.listed("") == []


def test_pay_together_releases_every_payer_at_once():
    def payer(barrier: threading.Barrier, result: dict) -> None:
        barrier.wait(timeout=5)
        result["released"] = time.time()

    results = [{} for _ in range(3)]
    started = c.pay_together([payer] * 3, results, timeout=5)
    released = [result["released"] for result in results]
    assert min(released) >= started
    assert max(released) - min(released) < 0.5


def test_pay_together_gives_up_after_its_timeout():
    stuck = threading.Event()

    def payer(barrier: threading.Barrier, result: dict) -> None:
        barrier.wait(timeout=5)
        stuck.wait(5)

    began = time.monotonic()
    c.pay_together([payer] * 2, [{}, {}], timeout=0.3)
    assert time.monotonic() - began < 2
    stuck.set()
