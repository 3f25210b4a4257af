"""The pure helpers of bench/compare.py and the statistics it adds to bench/."""

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import compare  # noqa: E402  (bench/compare.py, by path)
import reports  # noqa: E402


def test_ratio_is_the_oca_figure_over_ours():
    assert compare.ratio(20, 240) == "×12"
    assert compare.ratio(100, 250) == "×2.5"
    assert compare.ratio(0, 0) == "-"
    assert compare.ratio(0, 3) == "∞"
    assert compare.ratio(math.nan, 3) == "-"
    assert compare.ratio(None, 3) == "-"


def test_pair_puts_ours_first_and_the_ratio_last():
    assert compare.pair(0.5, 20.0, True) == "0.5 / 20.0 (×40)"
    assert compare.pair("2/2", "1/2") == "2/2 / 1/2"
    assert compare.pair(math.nan, 1.0) == "n/a / 1.0"


@pytest.mark.parametrize(
    ("charged", "recorded", "amount", "start"),
    [
        (12.34, "success", 12.34, "right"),
        (6.17, "success", 12.34, "WRONG"),
        (0.0, "success", 12.34, "WRONG"),
        (12.34, "unknown", 12.34, "safe"),
        (12.34, "issue", 12.34, "WRONG"),
        (12.34, "", 12.34, "WRONG"),
        (0.0, "failure", 12.34, "right"),
        (0.0, "error", 12.34, "right"),
    ],
)
def test_shop_outcome_compares_the_terminal_with_odoo(charged, recorded, amount, start):
    assert compare.shop_outcome(charged, recorded, amount).startswith(start)


def test_held_workers_counts_long_stretches_only():
    assert compare.held_workers({1: 19.8, 2: 20.0, 3: 4.9}) == 2
    assert compare.held_workers({}) == 0


def test_longest_gap_counts_the_edges():
    assert reports.longest_gap([], 10.0, 15.0) == 5.0
    assert reports.longest_gap([11.0, 12.0, 14.5], 10.0, 15.0) == 2.5
    # Answers outside the window do not shorten its gaps.
    assert reports.longest_gap([1.0, 13.0, 99.0], 10.0, 15.0) == 3.0


def test_quick_keeps_explicit_options():
    args = compare.parse_args(["--quick", "--lanes", "1,2,4"])
    assert args.lanes == "1,2,4"
    assert args.delay == compare.QUICK["delay"]
    assert args.client_timeout == compare.QUICK["limit_time_real"] + 10
    full = compare.parse_args([])
    assert (full.lanes, full.delay, full.long) == ("1,2,4,10,50", 20.0, 150.0)
    assert full.client_timeout == 130
