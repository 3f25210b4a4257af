"""Benchmark reports: statistics, the machine and the run, markdown tables.

Each script's Report is printed, written to bench/results/<name>.md and copied
into its section of bench/README.md.
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
def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
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
        self, headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str = ""
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
            ("goal", "met", "measured"),
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
        the README; the exit status: 0 when every goal is met."""
        text = self.render()
        print(text, flush=True)
        if write:
            RESULTS.mkdir(exist_ok=True)
            path = RESULTS / f"{self.name}.md"
            path.write_text(text)
            update_readme(self.name, text)
            log(f"results written to {path.relative_to(REPO)} and bench/README.md")
        return 0 if self.ok else 1


def update_readme(name: str, text: str) -> None:
    """Replace the section between the README's markers for ``name``."""
    if not README.exists():
        return
    start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
    content = README.read_text()
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if not pattern.search(content):
        return
    demoted = text.replace("\n### ", "\n#### ").replace("### ", "#### ", 1)
    README.write_text(pattern.sub(lambda _m: f"{start}\n{demoted}\n{end}", content))


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
