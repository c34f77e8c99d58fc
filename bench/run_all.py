"""Run every ``bench/bench_*.py`` and write ``docs/benchmarks.md``.

``python bench/run_all.py [--quick] [--only agent,scrape] [--output PATH]``

Each script runs in its own process (``--quick`` is passed through), its output is echoed
live and kept; the report holds what was run, when, on which machine, with which versions,
a summary table of every ratio the scripts printed, then each script's raw output.
A full run writes ``docs/benchmarks.md``; ``--quick`` prints the report to stdout unless
``--output`` is given, so a CI smoke run never overwrites measured numbers.

The line convention the summary reads (bench scripts print these; see ``ratio_record``)::

    RATIO <label> median=<x> min=<x> max=<x>[ target<=<t> met|missed]
    SKIP <label>: <why, and how to install what is missing>

``<label>`` is free text (``ours/node_exporter CPU @1s``); ratios are ours / peer unless
the label says otherwise. Lines in ``bench/_common.ratio_line``'s older format
(``<label (<= 1.0)>  median 0.85x (min 0.80, max 0.90)``) are read too.
This module is also imported by the bench scripts for ``ratio_record`` / ``skip_record`` /
``machine_details``; importing it does nothing else.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BenchRun",
    "Ratio",
    "machine_details",
    "parse_output",
    "ratio_record",
    "render_report",
    "skip_record",
]

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent

_RATIO = re.compile(
    r"^RATIO (?P<label>.+?) median=(?P<median>\S+) min=(?P<min>\S+) max=(?P<max>\S+)"
    r"(?: target(?P<op><=|>=)(?P<target>\S+) (?P<verdict>met|missed))?\s*$"
)
_LEGACY = re.compile(
    r"^(?P<indent>\s*)(?P<label>\S.*?)\s+median\s+(?P<median>[0-9.]+)x "
    r"\(min (?P<min>[0-9.]+), max (?P<max>[0-9.]+)\)\s*$"
)
_LEGACY_TARGET = re.compile(r"(?P<op><=|>=)\s*(?P<target>[0-9]+(?:\.[0-9]+)?)x?\)")
_SKIP = re.compile(r"^SKIP (?P<label>[^:]+): (?P<reason>.*)$")


# -- the convention, for the bench scripts ----------------------------------------------------
def ratio_record(
    label: str, ratios: Sequence[float], *, op: str | None = None, target: float | None = None
) -> str:
    """One ``RATIO`` line: median, min and max of per-round ratios, and the verdict against
    ``target`` (``op`` is ``"<="`` or ``">="``) judged on the median."""
    med = statistics.median(ratios)
    text = f"RATIO {label} median={med:.3f} min={min(ratios):.3f} max={max(ratios):.3f}"
    if op is not None and target is not None:
        ok = med <= target if op == "<=" else med >= target
        text += f" target{op}{target:g} {'met' if ok else 'missed'}"
    return text


def skip_record(label: str, reason: str) -> str:
    """One ``SKIP`` line: a comparison that could not run, and how to make it run."""
    return f"SKIP {label}: skipped: {reason}"


def machine_details() -> list[str]:
    """CPU model and count, memory, OS and Python, one fact per line (Linux-first)."""
    model = platform.processor() or platform.machine()
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
                break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = "load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"cpu: {model}, {os.cpu_count()} logical CPUs" + (f", {mem}" if mem else ""),
        f"os: {platform.platform()}",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        *([load] if load else []),
    ]


# -- parsing and the report -------------------------------------------------------------------
@dataclass(frozen=True)
class Ratio:
    """A ratio line read back from a script's output."""

    script: str
    label: str
    median: float
    low: float
    high: float
    op: str | None = None
    target: float | None = None

    @property
    def verdict(self) -> str:
        """``met`` / ``missed`` against the target, or ``-`` without one."""
        if self.op is None or self.target is None:
            return "-"
        ok = self.median <= self.target if self.op == "<=" else self.median >= self.target
        return "met" if ok else "**missed**"


@dataclass
class BenchRun:
    """One script's run: its command, exit code, wall time and combined output."""

    script: str
    argv: list[str]
    returncode: int
    seconds: float
    output: str
    ratios: list[Ratio] = field(default_factory=list)
    skips: list[tuple[str, str]] = field(default_factory=list)


def parse_output(script: str, text: str) -> tuple[list[Ratio], list[tuple[str, str]]]:
    """The ``RATIO`` (and older ``ratio_line``) and ``SKIP`` lines of one script's output."""
    ratios: list[Ratio] = []
    skips: list[tuple[str, str]] = []
    context = ""  # an indented older-format line is about the last unindented line
    for line in text.splitlines():
        if m := _RATIO.match(line):
            target = m["target"]
            ratios.append(
                Ratio(script, m["label"], float(m["median"]), float(m["min"]), float(m["max"]),
                      m["op"], float(target) if target else None)
            )
        elif m := _SKIP.match(line):
            skips.append((m["label"], m["reason"].removeprefix("skipped: ")))
        elif m := _LEGACY.match(line):
            t = _LEGACY_TARGET.search(m["label"])
            label = m["label"].strip()
            if m["indent"] and context:
                label = f"{context}: {label}"
            ratios.append(
                Ratio(script, label, float(m["median"]), float(m["min"]),
                      float(m["max"]), t["op"] if t else None,
                      float(t["target"]) if t else None)
            )
        elif line.strip() and not line[0].isspace() and not line.startswith("#"):
            context = line.split(":", 1)[0].strip()[:60]
    return ratios, skips


def _versions() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("timeline-telemetry", "prometheus-client", "psutil", "opentelemetry-sdk"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist} (not installed)")
    commit = _git("rev-parse", "--short", "HEAD")
    if commit:
        dirty = _git("status", "--porcelain", "--untracked-files=no")
        out.append(f"repo commit {commit}" + (" (with uncommitted changes)" if dirty else ""))
    return out


def _git(*args: str) -> str:
    try:
        res = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return res.stdout.strip() if res.returncode == 0 else ""


def render_report(runs: Sequence[BenchRun], *, quick: bool, started: dt.datetime,
                  command: str) -> str:
    """The Markdown of ``docs/benchmarks.md``."""
    lines = [
        "# Benchmarks",
        "",
        "Generated by `python bench/run_all.py` — do not edit by hand; re-run it.",
        "Every comparison runs the peer and us in the same run, alternating, over several",
        "rounds; a ratio is ours / peer per round (median, min, max over the rounds).",
        "Absolute numbers drift on shared machines: read the ratios.",
        "",
        f"- when: {started.strftime('%Y-%m-%d %H:%M UTC')}"
        f" (took {sum(r.seconds for r in runs) / 60:.1f} min)",
        f"- command: `{command}`" + (" (quick mode: smoke run, numbers are noise)" if quick
                                      else ""),
        *(f"- {x}" for x in machine_details()),
        f"- versions: {', '.join(_versions())}",
        "",
        "## Summary",
        "",
        "| script | ratio | median | min | max | target | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for r in run.ratios:
            target = f"{r.op} {r.target:g}" if r.op and r.target is not None else "-"
            lines.append(f"| {run.script} | {r.label} | {r.median:.2f} | {r.low:.2f} | "
                         f"{r.high:.2f} | {target} | {r.verdict} |")
    skipped = [(run.script, label, why) for run in runs for label, why in run.skips]
    failed = [run for run in runs if run.returncode != 0]
    if skipped:
        lines += ["", "Skipped:", ""]
        lines += [f"- {script}: {label}: {why}" for script, label, why in skipped]
    if failed:
        lines += ["", "Failed (see the output below):", ""]
        lines += [f"- {run.script} exited {run.returncode}" for run in failed]
    for run in runs:
        lines += [
            "",
            f"## {run.script}",
            "",
            f"`{shlex.join(run.argv)}` — exit {run.returncode}, {run.seconds:.0f} s",
            "",
            "```",
            run.output.rstrip("\n"),
            "```",
        ]
    return "\n".join(lines) + "\n"


# -- running ----------------------------------------------------------------------------------
def _run_one(script: Path, *, quick: bool, timeout_s: float) -> BenchRun:
    argv = [sys.executable, str(script.relative_to(REPO)), *(["--quick"] if quick else [])]
    print(f"== {shlex.join(argv)}", flush=True)
    start = time.monotonic()
    chunks: list[str] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=env) as proc:
        assert proc.stdout is not None
        watchdog = threading.Timer(timeout_s, proc.terminate)  # a hung script cannot hang us
        watchdog.start()
        try:
            for line in proc.stdout:  # echo live: a full run takes many minutes
                chunks.append(line)
                print(f"   {line}", end="", flush=True)
            code = proc.wait()
        except BaseException:  # Ctrl-C / SIGTERM: the script stops its own agents on SIGTERM
            proc.terminate()
            proc.wait(30)
            raise
        finally:
            watchdog.cancel()
    if time.monotonic() - start >= timeout_s:
        chunks.append(f"\n[run_all: stopped after {timeout_s:.0f} s]\n")
    seconds = time.monotonic() - start
    output = "".join(chunks)
    ratios, skips = parse_output(script.stem, output)
    return BenchRun(script.stem, argv[1:], code, seconds, output, ratios, skips)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the scripts, write the report; exit 1 if a script failed (never on a ratio)."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every script in its quick mode")
    ap.add_argument("--only", default="",
                    help="comma-separated script names without bench_ (e.g. agent,scrape)")
    ap.add_argument("--output", default=None,
                    help="where to write the report ('-' = stdout); default docs/benchmarks.md,"
                         " or stdout with --quick")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per script (default 3600, 300 with --quick)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if args.only:
        wanted = {f"bench_{x.strip().removeprefix('bench_').removesuffix('.py')}"
                  for x in args.only.split(",") if x.strip()}
        scripts = [s for s in scripts if s.stem in wanted]
        missing = wanted - {s.stem for s in scripts}
        if missing:
            print(f"run_all: no such script: {', '.join(sorted(missing))}", file=sys.stderr)
            return 2
    timeout_s = args.timeout or (300.0 if args.quick else 3600.0)
    started = dt.datetime.now(dt.UTC)
    command = shlex.join(["python", "bench/run_all.py", *(argv if argv is not None
                                                          else sys.argv[1:])])
    runs = [_run_one(s, quick=args.quick, timeout_s=timeout_s) for s in scripts]
    report = render_report(runs, quick=args.quick, started=started, command=command)
    output = args.output or ("-" if args.quick else str(REPO / "docs" / "benchmarks.md"))
    if output == "-":
        print(report)
    else:
        Path(output).write_text(report, encoding="utf-8")
        print(f"== wrote {output}")
    return 1 if any(r.returncode != 0 for r in runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
