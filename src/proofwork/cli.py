"""The `proofwork` command: a thin shell over the engine; it only translates and shows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from proofwork import __version__, engine, runtime
from proofwork.config import ConfigError, Settings, load_settings
from proofwork.evidence import Report
from proofwork.progress import LiveProgress
from proofwork.reports.html import write_html
from proofwork.reports.json_report import write_json
from proofwork.reports.terminal import render_summary
from proofwork.sandbox import SandboxError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Grade Python work samples and audit repositories by running them like production does.",
)
console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print a one-line reason and exit non-zero."""
    errors.print(f"[bold red]proofwork: error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_fail(**overrides: object) -> Settings:
    """Settings from the environment, or a clean exit naming the bad setting."""
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits


ARCHIVE_SUFFIX = re.compile(r"\.(zip|tar\.gz|tgz|tar|bundle)$", re.IGNORECASE)


def default_report_paths(source: Path, sha: str, out_dir: Path) -> tuple[Path, Path]:
    """reports/<name>-<sha12>.json and .html for a submission."""
    name = re.sub(ARCHIVE_SUFFIX, "", source.resolve().name)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "submission"
    stem = f"{name}-{sha[:12]}"
    return out_dir / f"{stem}.json", out_dir / f"{stem}.html"


@app.command()
def grade(
    submission: Annotated[Path, typer.Argument(help="A directory, .zip, .tar.gz or git bundle.")],
    challenge: Annotated[
        str | None, typer.Option(help="Challenge pack ID; without it the run is generic.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the HTML report here.")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option(help="Where reports go when --json/--html are not given.")
    ] = Path("reports"),
    budget: Annotated[
        float | None, typer.Option(min=1, help="Total time budget in seconds (default 600).")
    ] = None,
    probe: Annotated[
        list[str] | None, typer.Option(help="Run only this probe (repeatable).")
    ] = None,
    unsafe_no_sandbox: Annotated[
        bool, typer.Option("--unsafe-no-sandbox", help="Run submission code on the host. Dev only.")
    ] = False,
    keep: Annotated[bool, typer.Option(help="Keep the run's workspace for inspection.")] = False,
) -> None:
    """Grade a submission: run its tests and probes in the sandbox and write reports."""
    overrides: dict[str, object] = {"sandbox": "none"} if unsafe_no_sandbox else {}
    settings = settings_or_fail(**overrides)
    if unsafe_no_sandbox:
        errors.print(
            "[bold yellow]WARNING:[/] --unsafe-no-sandbox runs the submission's code on this "
            "host with no isolation. Use it only on code you trust."
        )
    if challenge is not None:
        fail(f"unknown challenge {challenge!r}: no challenge packs are installed yet")
    if not submission.exists():
        fail(f"{submission} does not exist")
    request = engine.GradeRequest(
        source=submission,
        settings=settings,
        challenge=challenge,
        probes=probe,
        budget_s=budget,
        keep_workspace=keep,
    )
    report = _grade_with_progress(request)
    default_json, default_html = default_report_paths(submission, report.submission.sha256, out_dir)
    _write_reports(report, json_out or default_json, html_out or default_html)


def _grade_with_progress(request: engine.GradeRequest) -> Report:
    with LiveProgress(console) as progress:
        request.listener = progress.on_event
        try:
            return engine.grade(request)
        except KeyError as exc:
            fail(str(exc.args[0]))
        except (engine.GradeError, SandboxError) as exc:
            fail(str(exc))
    raise AssertionError("unreachable")


def _write_reports(report: Report, json_path: Path, html_path: Path) -> None:
    for path in (json_path, html_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_json(report, json_path)
    write_html(report, html_path)
    render_summary(report, console)
    console.print(f"\nJSON report: [bold]{json_path}[/]\nHTML report: [bold]{html_path}[/]")


@app.command()
def setup() -> None:
    """Build the sandbox runtimes once (make does this; safe to repeat)."""
    settings = settings_or_fail()
    try:
        for name in runtime.RUNTIMES:
            path = runtime.ensure_runtime(settings, name, log=console.print)
            console.print(f"runtime {name}: {path}")
    except runtime.RuntimeBuildError as exc:
        fail(str(exc))


@app.command()
def version() -> None:
    """Print Proofwork's version."""
    console.print(__version__)


def main() -> None:
    """Entry point of the `proofwork` script."""
    app(prog_name="proofwork")


if __name__ == "__main__":
    main()
