"""The audit: one function from a repository (folder or git bundle) to an AuditReport.

Intake copies the repository (its `.git` included) into a private folder within the usual
caps; git then reads that copy only, with the safe settings of `audit.git`. The repository's
code runs only inside the sandbox, through the engine's own tests, mutation and static probes.
Anything that cannot be read becomes a line in `problems`, and the audit goes on without it.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proofwork import __version__, engine, intake
from proofwork.analysis import sources
from proofwork.audit import hotspots as hs
from proofwork.audit import invest, knowledge, smells
from proofwork.audit.git import Git, GitError
from proofwork.audit.history import RawHistory, display, read_history
from proofwork.audit.lineage import Lineages, fold
from proofwork.config import Settings
from proofwork.evidence import Evidence, Finding, Report, SubmissionInfo
from proofwork.sandbox import SandboxError

SCHEMA = "proofwork.audit/1"
DAY = 86400
TOP_HOTSPOTS = 20
TREND_HOTSPOTS = 5
TREND_SAMPLES = 4
MUTATED_HOTSPOTS = 10
WEB_FRAMEWORKS = ("fastapi", "flask", "django", "starlette", "aiohttp", "sanic", "litestar")

HistoryProgress = Callable[[int, int], None]  # (commits read, commits in all)


class AuditError(Exception):
    """The audit could not start (refused input, bad setting); says why in one line."""


WINDOW_UNITS = {"d": 1, "w": 7, "m": 30, "y": 365}


def parse_window(text: str) -> int:
    """Days in a window written like `2y`, `18m`, `6w` or `90d`."""
    number, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in WINDOW_UNITS or not number.isdigit() or int(number) == 0:
        raise AuditError(
            f"--since {text!r} is not a window: write a number and a unit, like 2y, 18m, 6w or 90d"
        )
    return int(number) * WINDOW_UNITS[unit]


@dataclass
class AuditRequest:
    source: Path
    settings: Settings
    since_days: int = 730
    budget_s: float | None = None
    inactive_months: int = 6
    run_probes: bool = True
    listener: engine.Listener = field(default=lambda event: None)
    on_history: HistoryProgress = field(default=lambda done, total: None)


@dataclass
class AuditReport:
    document: dict[str, Any]
    findings: list[Finding]

    def to_json(self) -> dict[str, Any]:
        """The canonical audit document (`proofwork.audit/1`)."""
        return self.document


def audit(request: AuditRequest) -> AuditReport:
    """Read the repository's history and code, run its tests in the sandbox, rank the risks."""
    started = time.monotonic()
    settings = request.settings
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    audit_dir = (
        settings.home / "audits" / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    )
    repo = audit_dir / "repo"
    try:
        submission = _ingest(request.source, repo, settings)
        git = Git(repo, audit_dir / "home")
        (audit_dir / "home").mkdir(parents=True, exist_ok=True)
        total = _commit_count(git)
        history = read_history(
            git, settings.home / "history", lambda done: request.on_history(done, total)
        )
        request.on_history(total, total)
        document, findings = _measure(request, git, repo, history)
        remaining = (request.budget_s or settings.budget_s) - (time.monotonic() - started)
        if request.run_probes:
            _run_probes(request, repo, document, findings, remaining)
    finally:
        shutil.rmtree(audit_dir, ignore_errors=True)
    document["invest"] = [r.to_json() for r in _risks(document, findings)]
    document.update(
        schema=SCHEMA,
        version=__version__,
        started_at=started_at,
        duration_s=round(time.monotonic() - started, 3),
    )
    document["repository"].update(
        source=str(request.source), sha256=submission.sha256, files=submission.files
    )
    document["findings"] = [f.to_json() for f in _sorted(findings)]
    return AuditReport(_readable(document), _sorted(findings))


def _readable(value: Any) -> Any:
    """The document with every undecodable byte of a name or path shown as \\xNN."""
    if isinstance(value, str):
        return display(value)
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if isinstance(value, dict):
        return {display(k): _readable(v) for k, v in value.items()}
    return value


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.path or "", f.line or 0, f.rule))


def _ingest(source: Path, repo: Path, settings: Settings) -> SubmissionInfo:
    try:
        return intake.ingest(source, repo, engine.intake_caps(settings))
    except intake.IntakeError as exc:
        raise AuditError(str(exc)) from exc


def _commit_count(git: Git) -> int:
    try:
        out = git.run(["rev-list", "--count", "--no-merges", "HEAD"], check=False).strip()
    except GitError:
        return 0
    return int(out) if out.isdigit() else 0


def head_files(git: Git, repo: Path, history: RawHistory) -> set[str]:
    """Files at HEAD by git's listing, else (no history) the files on disk."""
    if history.head is not None:
        try:
            listing = git.run(["ls-tree", "-r", "-z", "--name-only", "HEAD"])
            return {os.fsdecode(p) for p in listing.split(b"\0") if p}
        except GitError:
            pass
    return {str(p) for p in sources.iter_files(repo)}


def _measure(
    request: AuditRequest, git: Git, repo: Path, history: RawHistory
) -> tuple[dict[str, Any], list[Finding]]:
    files = head_files(git, repo, history)
    lineages = fold(history.commits, files)
    head_time = history.commits[0].time if history.commits else int(time.time())
    since = head_time - request.since_days * DAY
    tree = sources.scan(repo)
    sizes = {
        f.path: size for f in tree.sources if (size := hs.measure_text(f.text, f.path)) is not None
    }
    activities = [hs.activity(lineage, since) for lineage in lineages.files.values()]
    spots = hs.rank_hotspots(activities, sizes, TOP_HOTSPOTS)
    moments = hs.sample_times(max(since, _oldest(history)), head_time, TREND_SAMPLES)
    hs.complexity_trend(git, spots[:TREND_HOTSPOTS], lineages.files, lineages.changesets, moments)
    pairs = [
        pair
        for pair in hs.coupling(lineages.changesets, since)
        if knowledge.is_authored(pair.first) and knowledge.is_authored(pair.second)
    ]
    found = smells.scan(tree)
    document: dict[str, Any] = {
        "repository": _repository(history, lineages, since, head_time, request.since_days),
        "problems": [*history.problems, *_bare(repo), *_skipped(tree)],
        "maintainability": {
            "files": _activity_json(activities, sizes),
            "hotspots": [_hotspot_json(s) for s in spots],
            "coupling": [_coupling_json(p) for p in pairs[:50]],
        },
        "knowledge": _knowledge(lineages, head_time, request.inactive_months),
        "monitoring": _monitoring(found, tree),
        "testing": {
            "tests": found.tests,
            "tests_without_assertions": found.tests_without_assertions,
            "probes": [],
            "metrics": {},
        },
        "traffic": {},
    }
    return document, [*found.monitoring, *found.traffic]


def _bare(repo: Path) -> list[str]:
    """A bare repository has history but no files on disk to read."""
    if (repo / "HEAD").is_file() and (repo / "objects").is_dir() and not (repo / ".git").exists():
        return [
            "a bare repository: the code at HEAD is not on disk, so complexity, hotspots, "
            "tests and code findings are missing; audit a working copy or a git bundle"
        ]
    return []


def _oldest(history: RawHistory) -> int:
    return history.commits[-1].time if history.commits else 0


def _skipped(tree: sources.SourceTree) -> list[str]:
    return [f"{display(path)} not analysed: {why}" for path, why in tree.skipped]


def _day(moment: int | None) -> str | None:
    if moment is None:
        return None
    return dt.datetime.fromtimestamp(moment, dt.UTC).date().isoformat()


def _repository(
    history: RawHistory, lineages: Lineages, since: int, head_time: int, days: int
) -> dict[str, Any]:
    in_window = sum(1 for c in lineages.changesets if c.time >= since)
    return {
        "head": history.head,
        "commits": len(history.commits),
        "commits_in_window": in_window,
        "authors": len(lineages.names),
        "window": {"days": days, "since": _day(since), "until": _day(head_time)},
        "shallow": history.shallow,
        "bots_skipped": history.bots_skipped,
        "commits_read": history.read_commits,
        "from_cache": history.from_cache,
    }


def _activity_json(
    activities: list[hs.Activity], sizes: dict[str, hs.CodeSize]
) -> list[dict[str, Any]]:
    rows = sorted((a for a in activities if a.changes), key=lambda a: (-a.changes, a.path))
    return [
        {
            "path": display(a.path),
            "changes": a.changes,
            "authors": a.authors,
            "last_change": _day(a.last_change),
            "complexity": sizes[a.path].complexity if a.path in sizes else None,
            "lines": sizes[a.path].lines if a.path in sizes else None,
        }
        for a in rows[:200]
    ]


def _hotspot_json(spot: hs.Hotspot) -> dict[str, Any]:
    return {
        "path": display(spot.path),
        "changes": spot.changes,
        "authors": spot.authors,
        "complexity": spot.complexity,
        "lines": spot.lines,
        "score": spot.score,
        "trend": [{"date": day, "complexity": value} for day, value in spot.trend],
    }


def _coupling_json(pair: hs.Coupling) -> dict[str, Any]:
    return {
        "first": display(pair.first),
        "second": display(pair.second),
        "shared": pair.shared,
        "revisions_first": pair.revisions_first,
        "revisions_second": pair.revisions_second,
        "degree": pair.degree,
        "average_revisions": pair.average_revisions,
        "support": pair.support,
        "confidence_first": pair.confidence_first,
        "confidence_second": pair.confidence_second,
    }


def _knowledge(lineages: Lineages, head_time: int, months: int) -> dict[str, Any]:
    file_authors = {
        path: knowledge.authors_of(lineage)
        for path, lineage in lineages.files.items()
        if knowledge.is_authored(path)
    }
    names = lineages.names
    active = knowledge.active_authors(lineages.last_active, head_time, months)
    whole = knowledge.truck_factor(file_authors)
    authored: dict[str, int] = {}
    for people in file_authors.values():
        for person in people:
            authored[person] = authored.get(person, 0) + 1
    return {
        "truck_factor": _truck_json(whole, names),
        "packages": [
            {"package": display(name), **_truck_json(tf, names)}
            for name, tf in knowledge.by_package(file_authors).items()
        ],
        "islands": [
            {"path": display(p), "author": names.get(a, a)}
            for p, a in sorted(knowledge.islands(file_authors, active).items())
        ][:200],
        "loss": [
            {"path": display(p), "authors": [names.get(a, a) for a in people]}
            for p, people in sorted(knowledge.lost(file_authors, active).items())
        ][:200],
        "inactive_months": months,
        "authors": [
            {
                "name": display(names[key]),
                "files_authored": authored.get(key, 0),
                "last_commit": _day(lineages.last_active[key]),
                "active": key in active,
            }
            for key in sorted(names, key=lambda k: (-authored.get(k, 0), k))
        ][:100],
    }


def _truck_json(tf: knowledge.TruckFactor, names: dict[str, str]) -> dict[str, Any]:
    return {
        "value": tf.value,
        "authors": [display(names.get(a, a)) for a in tf.removed],
        "files": tf.files,
        "coverage": [round(c, 4) for c in tf.coverage],
    }


def _monitoring(found: smells.Smells, tree: sources.SourceTree) -> dict[str, Any]:
    imports = " ".join(f.text[:4000] for f in tree.sources)
    web = any(f"import {name}" in imports or f"from {name}" in imports for name in WEB_FRAMEWORKS)
    rules = [f.rule for f in found.monitoring]
    return {
        "logging_configured": found.logging_configured,
        "logging_calls": found.logging_calls,
        "swallowed_errors": rules.count("audit.swallowed_error"),
        "print_diagnostics": rules.count("audit.print_diagnostic"),
        "health_endpoints": found.health_endpoints,
        "libraries": found.libraries,
        "web_service": web,
    }


def _run_probes(
    request: AuditRequest,
    repo: Path,
    document: dict[str, Any],
    findings: list[Finding],
    remaining: float,
) -> None:
    from proofwork.probes.mutation import MutationProbe
    from proofwork.probes.static import StaticProbe
    from proofwork.probes.tests import TestsProbe

    spots = [h["path"] for h in document["maintainability"]["hotspots"][:MUTATED_HOTSPOTS]]
    first = tuple(glob.escape(p) for p in spots)
    grade = engine.GradeRequest(
        source=repo,
        settings=request.settings,
        budget_s=max(1.0, remaining),
        listener=request.listener,
        instances=[TestsProbe(), MutationProbe(priority=(first,) if first else ()), StaticProbe()],
    )
    try:
        report = engine.grade(grade)
    except (engine.GradeError, SandboxError) as exc:
        document["problems"].append(f"the repository's tests could not run: {exc}")
        return
    _take_probes(report, document, findings)


def _take_probes(report: Report, document: dict[str, Any], findings: list[Finding]) -> None:
    from proofwork.probes.mutation import FILES_ARTIFACT

    testing = document["testing"]
    testing["mutated_files"], testing["unreached_files"] = [], []
    for evidence in report.evidence:
        testing["probes"].append(_probe_json(evidence))
        if evidence.probe == "mutation":
            reached = _reached(evidence.artifacts.get(FILES_ARTIFACT, ""))
            testing["mutated_files"], testing["unreached_files"] = reached
        if evidence.probe in ("tests", "mutation", "install"):
            testing["metrics"].update(evidence.metrics)
        if evidence.probe == "static":
            async_findings = [f for f in evidence.findings if f.rule.startswith("ruff.ASYNC")]
            findings.extend(async_findings)


def _reached(table: str) -> tuple[list[str], list[str]]:
    """Files the mutation probe judged planted bugs in, and files it had bugs planted in but
    did not reach within its time, each in the order it worked (top hotspots first)."""
    try:
        rows = json.loads(table)["files"] if table else []
    except (ValueError, KeyError, TypeError):
        return [], []
    mutated = [str(r["path"]) for r in rows if r.get("judged")]
    unreached = [str(r["path"]) for r in rows if r.get("mutants") and not r.get("judged")]
    return mutated, unreached


_TRAFFIC = ("audit.http_", "audit.query_", "audit.unbounded_", "audit.sleep_")


def _probe_json(evidence: Evidence) -> dict[str, Any]:
    data = evidence.to_json()
    data.pop("artifacts", None)
    return data


def _risks(document: dict[str, Any], findings: list[Finding]) -> list[invest.Risk]:
    document["traffic"] = _traffic_counts(findings)
    plain = [f.to_json() for f in findings]
    spots = document["maintainability"]["hotspots"]
    risks = [
        *invest.hotspot_risks(spots),
        *invest.coupling_risks(document["maintainability"]["coupling"]),
        *invest.knowledge_risks(document["knowledge"]),
        *invest.monitoring_risks(document["monitoring"], plain),
        *invest.traffic_risks(plain),
    ]
    if document["testing"]["probes"]:
        mutated = set(document["testing"].get("mutated_files", []))
        hot = tuple(s["path"] for s in spots[:MUTATED_HOTSPOTS] if s["path"] in mutated)
        risks += invest.testing_risks(document["testing"], hot)
    return invest.rank(risks)


def _traffic_counts(findings: list[Finding]) -> dict[str, int]:
    rules: dict[str, int] = {}
    for finding in findings:
        if finding.rule.startswith(("ruff.ASYNC", *_TRAFFIC)):
            rules[finding.rule] = rules.get(finding.rule, 0) + 1
    return rules
