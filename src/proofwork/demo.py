"""`make demo`: grade the bundled sample submissions and compare them side by side.

The samples live in the package as data (`proofwork/samples/<name>/`). Each is copied out to a
temporary folder first, so that files a local test run left in the package (caches, the flaky
sample's marker) never reach a grade, and so that a zipped install works too. Grading goes
through `engine.grade`, the function the CLI calls, with the CLI's progress and report writers.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from proofwork import engine
from proofwork.config import ConfigError, Settings, load_settings
from proofwork.evidence import MetricValue, Report
from proofwork.probes import default_registry
from proofwork.progress import LiveProgress
from proofwork.reports.html import write_html
from proofwork.reports.json_report import write_json
from proofwork.reports.terminal import (
    MISSING,
    format_duration,
    format_metric,
    render_summary,
    severity_counts,
)
from proofwork.sandbox import SandboxError


@dataclass(frozen=True)
class Sample:
    """A bundled submission: where it lives in the package, and the challenge it answers."""

    description: str
    path: tuple[str, ...]
    challenge: str | None = None


SAMPLES = {
    "ledger-solid": Sample(
        "a small, well-factored ledger library with a strong test suite",
        ("samples", "ledger-solid"),
    ),
    "ledger-demo": Sample(
        "the same features written the demo way: floats, copy-paste, weak tests",
        ("samples", "ledger-demo"),
    ),
    "orders-api-starter": Sample(
        "the orders-api work sample as a candidate receives it (demo quality)",
        ("challenges", "packs", "orders-api", "starter"),
        challenge="orders-api",
    ),
    "orders-api-reference": Sample(
        "the orders-api work sample taken to production quality",
        ("challenges", "packs", "orders-api", "reference"),
        challenge="orders-api",
    ),
    "sales-ledger-starter": Sample(
        "the sales-ledger batch job as a candidate receives it (worked on last month's files)",
        ("challenges", "packs", "sales-ledger", "starter"),
        challenge="sales-ledger",
    ),
    "sales-ledger-reference": Sample(
        "the sales-ledger batch job taken to production quality",
        ("challenges", "packs", "sales-ledger", "reference"),
        challenge="sales-ledger",
    ),
}
# What a local run of a sample's tests leaves behind; never part of a graded copy.
LEFTOVERS = (
    "__pycache__", "*.pyc", ".pytest_cache", ".hypothesis", ".coverage", ".mypy_cache",
    ".ruff_cache", "*.egg-info", "rates_cache.json", "*.bak",
)  # fmt: skip


@dataclass(frozen=True)
class DemoRun:
    """One graded sample and where its reports were written."""

    sample: str
    report: Report
    json_path: Path
    html_path: Path


def sample_names() -> list[str]:
    """The bundled samples, in the order the demo shows them."""
    return list(SAMPLES)


def samples_root() -> Traversable:
    """The installed package, where the bundled samples live as data."""
    return resources.files("proofwork")


def copy_sample(name: str, destination: Path, *, root: Traversable | None = None) -> Path:
    """Copy a sample to `destination/<name>` without leftovers; return that folder.

    `root` (for tests) is a folder holding samples by name instead of the package.
    """
    if root is not None:
        source = root.joinpath(name)
    elif name in SAMPLES:
        source = samples_root().joinpath(*SAMPLES[name].path)
    else:
        raise FileNotFoundError(f"no bundled sample {name!r}; known: {', '.join(SAMPLES)}")
    if not source.is_dir():
        raise FileNotFoundError(f"no bundled sample {name!r}; known: {', '.join(SAMPLES)}")
    target = destination / name
    _copy_tree(source, target)
    return target


def _copy_tree(source: Traversable, target: Path) -> None:
    # Traversable rather than shutil.copytree: package data may sit inside a zip.
    target.mkdir(parents=True, exist_ok=True)
    for child in source.iterdir():
        if any(fnmatch.fnmatch(child.name, pattern) for pattern in LEFTOVERS):
            continue
        if child.is_dir():
            _copy_tree(child, target / child.name)
        else:
            (target / child.name).write_bytes(child.read_bytes())


def runnable_probes() -> tuple[list[str], dict[str, str]]:
    """Probes that can run here, and why the others cannot (their module is missing)."""
    registry = default_registry()
    ready: list[str] = []
    missing: dict[str, str] = {}
    for name in registry.names():
        try:
            registry.create([name])
        except ImportError as exc:
            missing[name] = f"{type(exc).__name__}: {exc}"
        else:
            ready.append(name)
    return ready, missing


def grade_sample(
    source: Path,
    *,
    settings: Settings,
    probes: list[str],
    out_dir: Path,
    console: Console,
    challenge: str | None = None,
) -> DemoRun:
    """Grade one copied sample with live progress; write and summarise its reports."""
    request = engine.GradeRequest(
        source=source, settings=settings, probes=probes, challenge=challenge
    )
    with LiveProgress(console) as progress:
        request.listener = progress.on_event
        report = engine.grade(request)
    json_path, html_path = out_dir / f"{source.name}.json", out_dir / f"{source.name}.html"
    write_json(report, json_path)
    write_html(report, html_path)
    render_summary(report, console)
    return DemoRun(source.name, report, json_path, html_path)


def comparison_table(runs: Sequence[DemoRun]) -> Table:
    """One row per sample: tests, coverage and findings by severity, side by side."""
    table = Table(title="Samples compared", title_justify="left")
    # The names tell the rows apart: they never wrap or shrink, the figures do.
    width = max(len(run.sample) for run in runs) if runs else 0
    table.add_column("Sample", no_wrap=True, min_width=width)
    table.add_column("Tests pass/fail/flaky", justify="right")
    table.add_column("Coverage line/branch", justify="right")
    table.add_column("Findings by severity")
    table.add_column("Signals (0-4)")
    table.add_column("Time", justify="right")
    for run in runs:
        table.add_row(*_row(run))
    return table


def _row(run: DemoRun) -> list[str]:
    metrics = run.report.metrics
    tests = (metrics.get(f"tests.{name}") for name in ("passed", "failed", "flaky"))
    coverage = (metrics.get(f"tests.{name}_percent") for name in ("coverage", "branch_coverage"))
    counts = [f"{n} {s.value}" for s, n in severity_counts(run.report.findings).items() if n]
    return [
        run.sample,
        " / ".join(format_metric(value) for value in tests),
        " / ".join(_percent(value) for value in coverage),
        ", ".join(counts) or "none",
        _signals(run.report),
        format_duration(run.report.duration_s),
    ]


def _signals(report: Report) -> str:
    scored = [s for s in report.signals if s.get("status") == "scored"]
    if not scored:
        return MISSING
    return " ".join(f"{_initials(s['name'])} {s['level']}" for s in scored)


def _initials(name: str) -> str:
    return "".join(word[0].upper() for word in name.split("_"))


def _percent(value: MetricValue) -> str:
    return f"{value:.1f}%" if isinstance(value, int | float) else MISSING


def run_demo(out_dir: Path, names: Sequence[str], console: Console) -> tuple[list[DemoRun], int]:
    """Grade each named sample into `out_dir`; return the runs and how many could not run."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        console.print(f"[bold red]proofwork demo: {exc}[/]")
        return [], len(names)
    probes, missing = runnable_probes()
    for name, why in missing.items():
        console.print(f"[yellow]probe {name} is not installed yet ({why}); running without it[/]")
    runs: list[DemoRun] = []
    with tempfile.TemporaryDirectory(prefix="proofwork-demo-") as tmp:
        for name in names:
            sample = SAMPLES[name]
            console.rule(f"[bold]{name}[/]: {sample.description}")
            source = copy_sample(name, Path(tmp))
            try:
                runs.append(
                    grade_sample(
                        source,
                        settings=settings,
                        probes=probes,
                        out_dir=out_dir,
                        console=console,
                        challenge=sample.challenge,
                    )
                )
            except (engine.GradeError, SandboxError) as exc:
                console.print(f"[bold red]{name} could not be graded:[/] {exc}")
    return runs, len(names) - len(runs)


def main(argv: Sequence[str] | None = None) -> int:
    """Grade the bundled samples, print a comparison; exit 0 when every grade completed."""
    parser = argparse.ArgumentParser(
        prog="python -m proofwork.demo", description="Grade the bundled samples."
    )
    parser.add_argument("--out-dir", type=Path, default=Path("reports"), help="report folder")
    parser.add_argument(
        "--sample", action="append", choices=sample_names(), help="grade only this sample"
    )
    args = parser.parse_args(argv)
    console = Console()
    runs, failed = run_demo(args.out_dir, args.sample or sample_names(), console)
    if runs:
        console.rule("[bold]Summary[/]")
        console.print(comparison_table(runs))
        for run in runs:
            console.print(
                f"{run.sample} reports:\n  [bold]{run.json_path}[/]\n  [bold]{run.html_path}[/]"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
