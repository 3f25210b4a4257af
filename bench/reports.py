"""Benchmark reports: statistics, the machine and the run, markdown tables.

Each script's Report is printed and written to bench/results/<name>.md; the
table of the latest results in bench/README.md is then made anew from every
file there (by hand: ``python3 bench/reports.py --readme``).
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import psutil
from settings import README, REPO, RESULTS, log


# -- statistics -------------------------------------------------------------
def percentile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def longest_gap(times: Iterable[float], start: float, end: float) -> float:
    """Longest interval within [start, end] that holds none of ``times``."""
    inside = sorted(t for t in times if start <= t <= end)
    edges = [start, *inside, end]
    return max(b - a for a, b in zip(edges, edges[1:], strict=False))


def ms(seconds: float) -> str:
    return "n/a" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.0f}"


def span(values: Sequence[float]) -> str:
    """Milliseconds as "p50 / p95 / max (count)"."""
    count, p50, p95, top = summary_ms(values)
    return f"{p50} / {p95} / {top} ({count})"


def mib(size: float) -> str:
    return f"{size / 1048576:.0f}"


def summary_ms(values: Sequence[float]) -> tuple[str, str, str, str]:
    """(count, p50, p95, max) in milliseconds."""
    if not values:
        return ("0", "n/a", "n/a", "n/a")
    return (
        str(len(values)),
        ms(percentile(values, 0.5)),
        ms(percentile(values, 0.95)),
        ms(max(values)),
    )


# -- the machine and the run --------------------------------------------------
def git_commit() -> str:
    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "-C", str(REPO), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    # The results and this README are rewritten by the runs themselves.
    own = (":!bench/results", ":!bench/README.md")
    if git("status", "--porcelain", "--untracked-files=no", "--", ".", *own):
        commit += " (tree has uncommitted changes)"
    return commit


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def other_load() -> str:
    """Heavy neighbours that skew the figures (the full test suite, say)."""
    me = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["pid"] != me and "run_tests.py" in cmdline:
            found.append(proc.info["pid"])
    return (
        f"test suite running (pid {', '.join(map(str, found))})"
        if found
        else "none seen"
    )


def machine_line() -> str:
    ram = psutil.virtual_memory().total / 1024**3
    cpus = f"{os.cpu_count()} CPU ({cpu_model()})"
    return f"{cpus}, {ram:.0f} GiB RAM, Linux {platform.release()}"


def load_line() -> str:
    one, five, _fifteen = os.getloadavg()
    average = f"load average {one:.2f} (1 min) / {five:.2f} (5 min)"
    return f"{average}; other load: {other_load()}"


# When the script started, before any measurement (the report is made at the end).
RUN_STARTED = datetime.datetime.now().astimezone()
LOAD_AT_START = load_line()


# -- reports ----------------------------------------------------------------
def markdown_table(headers: str | Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """``headers``: their names, or the markdown header line ("a | b | c")."""
    if isinstance(headers, str):
        headers = headers.split(" | ")

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class Report:
    """Tables and notes, printed and written to bench/results/<name>.md."""

    def __init__(self, name: str, title: str, command: str = "") -> None:
        self.name = name
        self.title = title
        self.command = command or "python3 " + " ".join(
            [f"bench/{Path(sys.argv[0]).name}", *sys.argv[1:]]
        )
        self.started = RUN_STARTED
        self.load_at_start = LOAD_AT_START
        self.parts: list[str] = []
        self.verdicts: list[tuple[str, bool, str]] = []

    def table(
        self,
        headers: str | Sequence[str],
        rows: Iterable[Sequence[Any]],
        title: str = "",
    ) -> None:
        text = markdown_table(headers, rows)
        self.parts.append(f"**{title}**\n\n{text}" if title else text)

    def columns(
        self,
        title: str,
        rows: Iterable[Any],
        columns: Sequence[tuple[str, Callable[[Any], Any]]],
    ) -> None:
        """A table given as ``(header, cell of a row)`` pairs, one per column."""
        self.table(
            [header for header, _cell in columns],
            [[cell(row) for _header, cell in columns] for row in rows],
            title,
        )

    def note(self, text: str) -> None:
        self.parts.append(text)

    def check(self, goal: str, ok: bool, measured: str) -> bool:
        self.verdicts.append((goal, ok, measured))
        return ok

    @property
    def ok(self) -> bool:
        return bool(self.verdicts) and all(ok for _goal, ok, _m in self.verdicts)

    def render(self) -> str:
        head = [
            f"### {self.title}",
            "",
            f"- date: {self.started:%Y-%m-%d %H:%M %Z}",
            f"- machine: {machine_line()}",
            f"- commit: {git_commit()}; Odoo {odoo_version()}; "
            f"Python {platform.python_version()}",
            f"- command: `{self.command}`",
            f"- at start: {self.load_at_start}",
            f"- at end: {load_line()}",
            "",
        ]
        body = "\n\n".join(self.parts)
        goals = markdown_table(
            "goal | met | measured",
            [
                (goal, "yes" if ok else "**NO**", measured)
                for goal, ok, measured in self.verdicts
            ],
        )
        verdict = "all goals met" if self.ok else "at least one goal NOT met"
        return (
            "\n".join(head) + "\n" + body + f"\n\n**Verdict: {verdict}**\n\n{goals}\n"
        )

    def save(self, write: bool = True) -> int:
        """Print the report and, with ``write``, write it to bench/results/ and
        refresh the README's table; the exit status: 0 when every goal is met."""
        text = self.render()
        print(text, flush=True)
        if write:
            RESULTS.mkdir(exist_ok=True)
            path = RESULTS / f"{self.name}.md"
            path.write_text(text)
            update_readme()
            log(f"results written to {path.relative_to(REPO)}; README table refreshed")
        return 0 if self.ok else 1


_ODOO_VERSION = ""


def odoo_version() -> str:
    global _ODOO_VERSION
    if not _ODOO_VERSION:
        out = subprocess.run(
            [sys.executable, "-c", "import odoo.release as r; print(r.version)"],
            capture_output=True,
            text=True,
            check=False,
        )
        _ODOO_VERSION = out.stdout.strip() or "unknown"
    return _ODOO_VERSION


# -- the README's table of the latest results -------------------------------------
TABLE_START, TABLE_END = "<!-- results:start -->", "<!-- results:end -->"
TABLE_HEADERS = (
    "results | command | date | commit | load (1 min), start → end | verdict"
    " | key figures"
)
# A goal with a threshold measures a figure; the others are met or not.
THRESHOLD = re.compile(r"<|≤|>=|≥|within|at most")


def result_row(path: Path) -> tuple[str, ...]:
    """One row of the table, from a results file's head lines and its goals."""
    text = path.read_text()
    head = dict(re.findall(r"^- ([a-z ]+): (.*)$", text.split("\n\n")[1], re.M))
    goals_part = text.partition("**Verdict:")[2]
    goals = re.findall(r"^\| (.+) \| (yes|\*\*NO\*\*) \| (.*) \|$", goals_part, re.M)
    met = sum(ok == "yes" for _goal, ok, _measured in goals)
    verdict = f"{met} / {len(goals)} met"
    key = [g for g in goals if THRESHOLD.search(g[0]) or g[1] != "yes"] or goals[:1]
    command = re.sub(r" --template \S+", "", head["command"].strip("`"))
    loads = [
        re.search(r"load average (\S+)", head[f"at {when}"])
        for when in "start end".split()
    ]
    other = re.sub(r" \(pid [^)]*\)", "", head["at start"].partition("other load: ")[2])
    return (
        f"[{path.stem}](results/{path.name})",
        f"`{command.removeprefix('python3 bench/')}`",
        head["date"],
        head["commit"].split(";")[0],
        " → ".join(m[1] if m else "?" for m in loads)
        + ("" if other == "none seen" else f" ({other})"),
        verdict if met == len(goals) else f"**{verdict}**",
        "; ".join(
            f"{goal}: {measured}" + ("" if ok == "yes" else " (**missed**)")
            for goal, ok, measured in key
        ),
    )


def latest_results(folder: Path = RESULTS) -> str:
    """The table: one row per results file."""
    rows = [result_row(path) for path in sorted(folder.glob("*.md"))]
    return markdown_table(TABLE_HEADERS, rows)


def with_results_table(readme: str, table: str) -> str:
    """The README's text with ``table`` between its markers."""
    start = readme.index(TABLE_START) + len(TABLE_START)
    return readme[:start] + "\n" + table + "\n" + readme[readme.index(TABLE_END) :]


def update_readme() -> bool:
    """Make the README's table anew from bench/results/; whether it changed."""
    text = README.read_text()
    new = with_results_table(text, latest_results())
    if new != text:
        README.write_text(new)
    return new != text


if __name__ == "__main__":
    # After a results file was edited or removed by hand.
    if sys.argv[1:] != ["--readme"]:
        sys.exit("usage: python3 bench/reports.py --readme (the README's table anew)")
    log(f"bench/README.md: table {'rewritten' if update_readme() else 'unchanged'}")
