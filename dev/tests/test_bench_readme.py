"""bench/README.md stays a short reference, and its results table is bench/results/."""

import re
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import reports  # noqa: E402  (bench/reports.py, by path)

README = (BENCH / "README.md").read_text()
MOST_LINES = 300
# A bench has a section titled by its file; each helper a row of the helpers' table.
SECTION = re.compile(r"^### `(\w+\.py)`", re.M)
HELPER_ROW = re.compile(r"^\| `(\w+\.py)` \|", re.M)

RESULTS = """### Some bench (bench/some.py)

- date: 2026-12-07 19:08 UTC
- machine: 2 CPU (AMD EPYC), 24 GiB RAM, Linux 6.18
- commit: 53aefb384d86; Odoo 18.0; Python 3.11.7
- command: `python3 bench/some.py --lanes 100 --template caisse_ap_bench_tpl_x`
- at start: load average 5.64 (1 min) / 9.00 (5 min); other load: test suite running (pid 8452, 11221)
- at end: load average 7.33 (1 min) / 8.23 (5 min); other load: none seen

| lanes | paid |
|---|---|
| 100 | yes |

**Verdict: at least one goal NOT met**

| goal | met | measured |
|---|---|---|
| 100 lane(s): all paid correctly | yes | 100 / 100 |
| probe p95 during the storm < 250 ms at 100 lanes | yes | 124 ms |
| no start fails for the cashier | **NO** | 100: 2 |
"""  # noqa: E501


def test_readme_is_a_short_reference():
    lines = len(README.splitlines())
    assert lines <= MOST_LINES, f"bench/README.md has {lines} lines"


def test_every_bench_script_has_its_section():
    files = {path.name for path in BENCH.glob("*.py")}
    sections = set(SECTION.findall(README))
    helpers = set(HELPER_ROW.findall(README))
    benches = {
        name
        for name in files - helpers
        if '__name__ == "__main__"' in (BENCH / name).read_text()
    }
    assert sorted(benches - sections) == [], "bench scripts without a section"
    assert sorted(files - sections - helpers) == [], "files the README does not name"
    assert sorted((sections | helpers) - files) == [], "the README names gone files"
    assert sorted(sections & helpers) == [], "named as a bench and as a helper"


def test_results_table_is_made_from_the_results():
    table = reports.latest_results()
    assert reports.with_results_table(README, table) == README, (
        "stale table: python3 bench/reports.py --readme"
    )
    assert table.count("\n") == len(list((BENCH / "results").glob("*.md"))) + 1


def test_a_row_holds_the_run_the_verdict_and_the_figures(tmp_path):
    (tmp_path / "some.md").write_text(RESULTS)
    (row,) = reports.latest_results(tmp_path).splitlines()[2:]
    cells = [cell.strip() for cell in row.strip("|").split(" | ")]
    assert cells[:6] == [
        "[some](results/some.md)",
        "`some.py --lanes 100`",
        "2026-12-07 19:08 UTC",
        "53aefb384d86",
        "5.64 → 7.33 (test suite running)",
        "**2 / 3 met**",
    ]
    # The figures with a threshold and the goals missed; not the plain ones met.
    assert cells[6] == (
        "probe p95 during the storm < 250 ms at 100 lanes: 124 ms; "
        "no start fails for the cashier: 100: 2 (**missed**)"
    )


def test_the_table_goes_between_the_markers_only():
    text = f"intro\n{reports.TABLE_START}\nold\n{reports.TABLE_END}\nend\n"
    new = reports.with_results_table(text, "| a |")
    assert new == f"intro\n{reports.TABLE_START}\n| a |\n{reports.TABLE_END}\nend\n"
