"""The `proofwork` command: a thin shell over the engine; it only translates and shows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from proofwork import __version__, engine, runtime, store
from proofwork.challenges import Catalogue, Pack, PackError, discover
from proofwork.challenges.kit import KitError, build_kit
from proofwork.challenges.verify import Verdict, levels, verify
from proofwork.config import ConfigError, Settings, load_settings
from proofwork.evidence import Report
from proofwork.intake import IntakeError
from proofwork.progress import LiveProgress
from proofwork.reports.html import write_html
from proofwork.reports.json_report import write_json
from proofwork.reports.terminal import render_summary
from proofwork.sandbox import SandboxError
from proofwork.similarity import report as similarity_report
from proofwork.similarity import run as similar
from proofwork.similarity.compare import DEFAULT_THRESHOLD
from proofwork.store.models import Role

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


# Options several commands share.
JsonOption = Annotated[Path | None, typer.Option("--json", help="Write the JSON document here.")]
HtmlOption = Annotated[Path | None, typer.Option("--html", help="Write the HTML page here.")]
BudgetOption = Annotated[
    float | None, typer.Option(min=1, help="Total time budget in seconds (default 600).")
]

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
    json_out: JsonOption = None,
    html_out: HtmlOption = None,
    out_dir: Annotated[
        Path, typer.Option(help="Where reports go when --json/--html are not given.")
    ] = Path("reports"),
    budget: BudgetOption = None,
    probe: Annotated[
        list[str] | None, typer.Option(help="Run only this probe (repeatable).")
    ] = None,
    test_timeout: Annotated[
        float | None,
        typer.Option(min=1, help="Per-test time limit in seconds (default: the pack's, else 30)."),
    ] = None,
    unsafe_no_sandbox: Annotated[
        bool, typer.Option("--unsafe-no-sandbox", help="Run submission code on the host. Dev only.")
    ] = False,
    keep: Annotated[bool, typer.Option(help="Keep the run's workspace for inspection.")] = False,
) -> None:
    """Grade a submission: run its tests and probes in the sandbox and write reports."""
    overrides: dict[str, object] = {"sandbox": "none"} if unsafe_no_sandbox else {}
    if test_timeout is not None:
        overrides["test_timeout_s"] = test_timeout
    settings = settings_or_fail(**overrides)
    if unsafe_no_sandbox:
        errors.print(
            "[bold yellow]WARNING:[/] --unsafe-no-sandbox runs the submission's code on this "
            "host with no isolation. Use it only on code you trust."
        )
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
def similarity(
    submissions: Annotated[
        list[Path], typer.Argument(help="Two or more directories, .zip, .tar.gz or git bundles.")
    ],
    starter: Annotated[
        Path | None, typer.Option(help="The starter everyone received; its code is left out.")
    ] = None,
    challenge: Annotated[
        str | None,
        typer.Option(help="Leave out this pack's starter and files (instead of --starter)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Flag pairs at or above this similarity.")
    ] = DEFAULT_THRESHOLD,
    json_out: JsonOption = None,
    html_out: HtmlOption = None,
) -> None:
    """Find submissions that share code beyond the starter (copied work)."""
    if len(submissions) < 2:
        fail("give at least two submissions to compare")
    for given in [*submissions, *([starter] if starter else [])]:
        if not given.exists():
            fail(f"{given} does not exist")
    pack = pack_or_fail(challenge) if challenge else None
    try:
        report = similar.run(
            submissions, settings_or_fail(), threshold=threshold, starter=starter, pack=pack
        )
    except IntakeError as exc:
        fail(str(exc))
    similarity_report.render_terminal(report, console)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        similarity_report.write_json(report, json_out)
        console.print(f"JSON report: [bold]{json_out}[/]")
    if html_out is not None:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        similarity_report.write_html(report, html_out)
        console.print(f"HTML report: [bold]{html_out}[/]")


challenge_app = typer.Typer(no_args_is_help=True, help="Challenge packs: list, show, kit, verify.")
app.add_typer(challenge_app, name="challenge")


def catalogue_or_fail() -> Catalogue:
    """The packs on this machine (built-in and PROOFWORK_CHALLENGES_PATH)."""
    return discover(settings_or_fail().challenges_path)


def pack_or_fail(challenge_id: str) -> Pack:
    """The pack with this id, or a one-line reason."""
    try:
        return catalogue_or_fail().get(challenge_id)
    except PackError as exc:
        fail(str(exc))
        raise


@challenge_app.command("list")
def challenge_list() -> None:
    """List the challenge packs this machine has (and any that failed to load)."""
    catalogue = catalogue_or_fail()
    table = Table("ID", "Version", "Title", "Time box", "Source")
    for pack in sorted(catalogue.packs.values(), key=lambda p: p.id):
        source = "built-in" if pack.builtin else str(pack.root)
        minutes = pack.spec.time_box_minutes
        table.add_row(pack.id, pack.spec.version, pack.spec.title, f"{minutes} min", source)
    console.print(table)
    for path, reason in catalogue.broken.items():
        errors.print(f"[yellow]not loaded:[/] {path}: {reason}", highlight=False, soft_wrap=True)


@challenge_app.command("show")
def challenge_show(challenge_id: Annotated[str, typer.Argument(help="The pack's id.")]) -> None:
    """Show a pack: what it asks, how long, and the levels of each signal."""
    pack = pack_or_fail(challenge_id)
    spec = pack.spec
    console.print(f"[bold]{spec.title}[/] ({pack.id} {spec.version}, {spec.time_box_minutes} min)")
    console.print(spec.summary.strip(), highlight=False)
    console.print(f"\nFolder: {pack.root}\n")
    for name, signal in spec.signals.items():
        table = Table(
            "Level", "Label", "Needs", title=f"{signal.title} ({name})", title_justify="left"
        )
        for level in signal.levels:
            needs = ", ".join(str(c) for c in level.require) or "—"
            table.add_row(str(level.level), level.label, needs)
        console.print(table)
    for name, rubric in pack.rubric.items():
        console.print(f"[bold]{rubric.title}[/] ({name}): reviewed by people — {rubric.question}")


@challenge_app.command("kit")
def challenge_kit(
    challenge_id: Annotated[str, typer.Argument(help="The pack's id.")],
    out: Annotated[Path, typer.Option("--out", help="New (or empty) folder for the kit.")],
) -> None:
    """Write what a candidate receives: brief, contract, starter repo, self-check."""
    pack = pack_or_fail(challenge_id)
    try:
        written = build_kit(pack, out)
    except KitError as exc:
        fail(str(exc))
    console.print(f"Kit for [bold]{pack.spec.title}[/] written to {out}:")
    for path in written:
        console.print(f"  {path}")


@challenge_app.command("verify")
def challenge_verify(challenge_id: Annotated[str, typer.Argument(help="The pack's id.")]) -> None:
    """Grade the pack's starter and reference; fail loudly if it cannot tell them apart."""
    pack = pack_or_fail(challenge_id)
    settings = settings_or_fail()
    with LiveProgress(console) as progress:
        try:
            verdict = verify(pack, settings, progress.on_event)
        except (engine.GradeError, SandboxError) as exc:
            fail(str(exc))
    _show_verdict(verdict)
    if not verdict.ok:
        raise typer.Exit(1)


def _show_verdict(verdict: Verdict) -> None:
    table = Table("Signal", "Reference", "Starter", title=f"{verdict.pack.id}: signal levels")
    reference, starter = levels(verdict.reference), levels(verdict.starter)
    for name in verdict.pack.spec.signals:
        table.add_row(name, str(reference.get(name)), str(starter.get(name)))
    console.print(table)
    for side, report in (("reference", verdict.reference), ("starter", verdict.starter)):
        m = report.metrics
        console.print(
            f"{side}: acceptance {m.get('acceptance.passed')}/{m.get('acceptance.total')} passed, "
            f"tests {m.get('tests.passed', 0)} passed / {m.get('tests.failed', 0)} failed"
        )
    if verdict.ok:
        console.print("[bold green]verify passed:[/] the pack tells the reference from the starter")
    for problem in verdict.problems:
        errors.print(f"[bold red]verify failed:[/] {problem}", highlight=False, soft_wrap=True)


db_app = typer.Typer(no_args_is_help=True, help="The service's store: schema migrations.")
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema (PROOFWORK_DATABASE_URL, else SQLite under home)."""
    settings = settings_or_fail()
    try:
        engine = store.engine_for(settings)
        before = store.current_revision(engine)
        store.upgrade(engine)
        after = store.current_revision(engine)
    except store.StoreError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        where = store.describe_url(settings.store_url)
        fail(f"cannot reach the store at {where}: {getattr(exc, 'orig', None) or exc}")
    if before == after:
        console.print(f"store schema already at {after}")
    else:
        console.print(f"store schema upgraded from {before or 'nothing'} to {after}")


def _current_store_or_fail(settings: Settings) -> None:
    try:
        store.require_current_schema(store.engine_for(settings))
    except store.StoreError as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        where = store.describe_url(settings.store_url)
        fail(f"cannot reach the store at {where}: {getattr(exc, 'orig', None) or exc}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Cores the embedded workers grade on (default PROOFWORK_WORKER_CORES, "
            "else all; 0: API only, runs wait for `proofwork worker`).",
        ),
    ] = None,
    api_processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Processes answering API requests (default PROOFWORK_API_PROCESSES, else 1).",
        ),
    ] = None,
) -> None:
    """Run the service: the API and embedded workers grading queued runs."""
    import uvicorn

    from proofwork.web.app import background, build_services, create_app

    settings = settings_or_fail()
    _current_store_or_fail(settings)
    processes = api_processes or settings.api_processes
    services = build_services(settings, worker_cores=workers)
    cores = services.workers.cores if services.workers else 0
    console.print(
        f"proofwork serve: http://{host}:{port}/api/v1 · store "
        f"{store.describe_url(settings.store_url)} · embedded workers on {cores} core(s) · "
        f"{processes} API process(es)",
        highlight=False,
    )
    if processes == 1:
        uvicorn.run(create_app(services), host=host, port=port, log_level="warning")
        return
    # Several API processes share the port; this one grades and sends webhooks meanwhile.
    from proofwork.web.processes import APP_FACTORY, ServeError, reuse_port_supported
    from proofwork.web.processes import run as run_processes

    with background(services):
        if reuse_port_supported():
            try:
                run_processes(host, port, processes)
            except ServeError as exc:
                fail(str(exc))
        else:  # one socket shared by the processes (less evenly loaded, but it works)
            uvicorn.run(
                APP_FACTORY, factory=True, workers=processes, host=host,
                port=port, log_level="warning",
            )  # fmt: skip
    services.dispose()


@app.command("audit")
def audit_command(
    repository: Annotated[
        Path, typer.Argument(help="A git working copy (folder) or a git bundle.")
    ],
    since: Annotated[
        str, typer.Option(help="History window for changes and coupling: 2y, 18m, 6w, 90d.")
    ] = "2y",
    budget: BudgetOption = None,
    json_out: JsonOption = None,
    html_out: HtmlOption = None,
    sarif_out: Annotated[
        Path | None, typer.Option("--sarif", help="Write the code findings as SARIF 2.1.0 here.")
    ] = None,
    out_dir: Annotated[
        Path, typer.Option(help="Where reports go when --json/--html/--sarif are not given.")
    ] = Path("reports"),
    inactive_months: Annotated[
        int, typer.Option(min=1, help="Authors without a commit for this long have left.")
    ] = 6,
    no_tests: Annotated[
        bool, typer.Option("--no-tests", help="Skip running the tests and mutation in the sandbox.")
    ] = False,
) -> None:
    """Audit a repository: hotspots, knowledge, tests, monitoring, traffic; where to invest."""
    from proofwork.audit.run import AuditError, AuditRequest, audit, parse_window
    from proofwork.reports.audit_html import write_audit_html
    from proofwork.reports.audit_terminal import AuditProgress, render_audit_summary
    from proofwork.reports.json_report import write_document
    from proofwork.reports.sarif import write_sarif

    settings = settings_or_fail()
    if not repository.exists():
        fail(f"{repository} does not exist")
    try:
        request = AuditRequest(
            repository,
            settings,
            since_days=parse_window(since),
            budget_s=budget,
            inactive_months=inactive_months,
            run_probes=not no_tests,
        )
        with AuditProgress(console) as progress:
            request.on_history = progress.on_history
            request.listener = progress.on_event
            report = audit(request)
    except (AuditError, SandboxError) as exc:
        fail(str(exc))
        raise
    document = report.to_json()
    stem = default_report_paths(repository, document["repository"]["sha256"], out_dir)[0]
    paths = (
        json_out or stem.with_name(f"audit-{stem.stem}.json"),
        html_out or stem.with_name(f"audit-{stem.stem}.html"),
        sarif_out or stem.with_name(f"audit-{stem.stem}.sarif"),
    )
    write_document(document, paths[0])
    write_audit_html(document, paths[1])
    write_sarif(report.findings, paths[2], version=__version__)
    render_audit_summary(document, console)
    console.print(
        f"\nJSON: [bold]{paths[0]}[/]\nHTML: [bold]{paths[1]}[/]\nSARIF: [bold]{paths[2]}[/]"
    )


@app.command()
def worker() -> None:
    """Run a Celery worker (scale-out): grade runs rung for on PROOFWORK_BROKER_URL."""
    from proofwork.jobs import distributed

    settings = settings_or_fail()
    if not settings.broker_url:
        fail("set PROOFWORK_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run a worker")
    _current_store_or_fail(settings)
    cores = settings.worker_cores or os.cpu_count() or 1
    console.print(
        f"proofwork worker: broker {store.describe_url(settings.broker_url)} · store "
        f"{store.describe_url(settings.store_url)} · {cores} core(s)",
        highlight=False,
    )
    distributed.run_worker(settings, cores)


admin_app = typer.Typer(no_args_is_help=True, help="Organisations, users and API tokens.")
app.add_typer(admin_app, name="admin")


@contextmanager
def _admin_session() -> Iterator[Session]:
    from proofwork.web.admin import AdminError

    settings = settings_or_fail()
    _current_store_or_fail(settings)
    factory = store.session_factory(store.engine_for(settings))
    try:
        with store.unit_of_work(factory) as session:
            yield session
    except AdminError as exc:
        fail(str(exc))


@admin_app.command("create-org")
def admin_create_org(name: Annotated[str, typer.Argument(help="The organisation's name.")]) -> None:
    """Create an organisation."""
    from proofwork.web import admin

    with _admin_session() as session:
        org = admin.create_org(session=session, name=name)
        console.print(f"organisation {org.name}: {org.id}", highlight=False)


ROLE_HELP = "owner, recruiter or reviewer."


@admin_app.command("create-user")
def admin_create_user(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    org: Annotated[str, typer.Option("--org", help="Organisation name or id.")],
    role: Annotated[Role, typer.Option("--role", help=ROLE_HELP)],
    name: Annotated[str, typer.Option("--name", help="The user's name.")] = "",
    password: Annotated[
        str | None,
        typer.Option("--password", help="Their password for the pages (at least 10 characters)."),
    ] = None,
    ask_password: Annotated[
        bool, typer.Option("--ask-password", help="Prompt for their password (not echoed).")
    ] = False,
) -> None:
    """Add a user to an organisation with a role (or change their role); set a password to let
    them sign in to the pages."""
    from proofwork.web import admin
    from proofwork.web.pages.session import hash_password, password_problem

    if ask_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None and (problem := password_problem(password)):
        fail(problem)
    with _admin_session() as session:
        found = admin.find_org(session=session, name_or_id=org)
        user = admin.create_user(session=session, org=found, email=email, role=role, name=name)
        if password is not None:
            user.password_hash = hash_password(password)
        console.print(f"user {user.email} is {role} of {found.name}: {user.id}", highlight=False)


@admin_app.command("create-token")
def admin_create_token(
    org: Annotated[str, typer.Option("--org", help="Organisation name or id.")],
    user: Annotated[
        str | None, typer.Option("--user", help="Act as this member (their role).")
    ] = None,
    role: Annotated[
        Role, typer.Option("--role", help="Role of a token without a user: " + ROLE_HELP)
    ] = Role.RECRUITER,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")] = "",
) -> None:
    """Create an API token; it is printed once (only its hash is kept)."""
    from proofwork.web import admin

    with _admin_session() as session:
        found = admin.find_org(session=session, name_or_id=org)
        member = admin.find_user(session=session, email=user) if user else None
        token, secret = admin.create_token(
            session=session, org=found, role=role, user=member, name=name
        )
        console.print(f"token {token.id} ({token.role} of {found.name}):", highlight=False)
        console.print(secret, highlight=False, soft_wrap=True)


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
