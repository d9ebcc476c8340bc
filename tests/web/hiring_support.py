"""Hiring rounds in the store without grading: candidates at every stage, with runs whose reports
are built from the orders-api pack's real signals and acceptance rules (for the hiring pages'
tests and `benchmarks/pages.py`)."""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork import signals
from proofwork.challenges import discover
from proofwork.evidence import Evidence, Finding, Report, Severity, SubmissionInfo
from proofwork.jobs.queue import signal_levels
from proofwork.probes.acceptance import FINDING_SEVERITY, counted_in, rule_metrics
from proofwork.store.blobs import BlobStore
from proofwork.store.models import (
    Assessment,
    Candidate,
    Decision,
    Invitation,
    InvitationState,
    Outcome,
    Run,
    RunState,
    Scorecard,
    SimilarityPair,
    Submission,
    SubmissionFingerprint,
    new_id,
    utcnow,
)

PACK = "orders-api"
# How many checks each business rule of orders-api has (as its hidden checks hold them).
RULE_CHECKS = {"R1": 3, "R2": 4, "R3": 9, "R4": 12, "R5": 5, "R6": 8, "R7": 7, "R8": 8,
               "R9": 10, "R10": 6, "R11": 2, "R12": 4}  # fmt: skip


@dataclass(frozen=True)
class Graded:
    """A report document and the run summary the worker would keep of it."""

    document: bytes
    summary: dict[str, Any]


def build_report(rng: random.Random, *, quality: float, artifact_kb: int = 0) -> Graded:
    """A report as orders-api grading would write one, its figures drawn around `quality`
    (0: the starter, 1: the reference), signals scored by the pack's own thresholds."""
    pack = discover().get(PACK)

    def near(low: float, high: float) -> float:
        return round(low + (high - low) * min(max(rng.gauss(quality, 0.15), 0), 1), 1)

    checks = [
        {"id": f"{rule.lower()}.check_{i}", "rule": rule, "title": f"check {i}",
         "passed": rng.random() < 0.35 + 0.65 * quality,
         "severity": rng.choice(["critical", "major", "minor"]), "message": "answered 500"}
        for rule, count in RULE_CHECKS.items() for i in range(count)
    ]  # fmt: skip
    acceptance = Evidence("acceptance", metrics={"service.started": True, **rule_metrics(checks)})
    acceptance.findings = [
        Finding(
            f"acceptance.{c['id']}", FINDING_SEVERITY[c["severity"]],
            f"{c['rule']} {c['title']} ({c['severity']}): {c['message']}",
            probe="acceptance", counts_toward=counted_in(c),
        )
        for c in checks if not c["passed"]
    ]  # fmt: skip
    tests = Evidence("tests", metrics={
        "tests.passed": int(near(3, 60)), "tests.failed": 0, "tests.errors": 0,
        "tests.total": int(near(3, 60)), "tests.flaky": 0, "tests.assertion_free": 0,
        "tests.coverage_percent": near(30, 97), "tests.branch_coverage_percent": near(20, 90),
    })  # fmt: skip
    mutation = Evidence("mutation", metrics={
        "mutation.score_percent": near(10, 85), "mutation.assertion_kill_percent": near(5, 60),
        "mutation.pseudo_tested": int(near(6, 0)),
    })  # fmt: skip
    load = Evidence("load", metrics={
        "load.relative_capacity": round(near(0.1, 1.2), 2), "load.error_rate_max": 0.0,
    })  # fmt: skip
    static = Evidence("static", metrics={
        "static.unparsable_files": 0, "static.cognitive_max": int(near(40, 8)),
        "static.duplicated_percent": near(12, 1), "static.module_length_max": int(near(900, 300)),
    })  # fmt: skip
    static.findings = [
        Finding("static.long_function", rng.choice(list(Severity)), "too long", path="app.py")
        for _ in range(rng.randrange(12))
    ]
    operability = Evidence("operability", metrics={
        "operability.healthz_ok": quality > 0.3,
        "operability.structured_logs_percent": near(0, 100),
    })  # fmt: skip

    def holds(bar: float) -> bool:
        return rng.gauss(quality, 0.15) > bar

    production = Evidence("input", metrics={
        "input.server_errors": 0 if holds(0.4) else 3, "input.hangs": 0,
        "input.contract_violations": 0 if holds(0.8) else 1,
        "durability.lost": 0 if holds(0.6) else 4, "durability.oversold": 0 if holds(0.6) else 1,
        "durability.orphan_charges": 0, "durability.double_charges": 0, "durability.changed": 0,
        "durability.stock_kept": holds(0.8), "durability.stock_drift": 0,
        "faults.hangs": 0 if holds(0.5) else 1, "faults.server_errors": 0,
        "faults.double_charges": 0, "faults.failed": 0 if holds(0.85) else 1, "faults.not_run": 0,
    })  # fmt: skip
    evidence = [acceptance, tests, mutation, load, static, operability, production]
    for item in evidence:
        item.artifacts = {"log.txt": "x" * artifact_kb * 1024} if artifact_kb else {}
    report = Report(
        submission=SubmissionInfo(new_id() * 2, "submission", "tar", 12, 40_000),
        evidence=evidence,
        challenge=PACK,
    )
    scored = signals.score(pack, report.metrics, [], findings=report.findings)
    report.signals = [s.to_json() for s in scored]
    document = report.to_json()
    summary = {"submission_sha256": report.submission.sha256, "signals": report.signals}
    return Graded(json.dumps(document).encode(), summary)


def hiring_assessment(session: Session, org_id: str, title: str = "Backend hire") -> Assessment:
    """An assessment on orders-api."""
    pack = discover().get(PACK)
    assessment = Assessment(
        org_id=org_id, title=title, pack_id=PACK, pack_version=pack.spec.version,
        time_box_minutes=pack.spec.time_box_minutes, invitation_expiry_hours=168,
    )  # fmt: skip
    session.add(assessment)
    session.flush()
    return assessment


def add_candidate(
    session: Session,
    blobs: BlobStore,
    assessment: Assessment,
    name: str,
    *,
    opened: bool = False,
    run_state: RunState | None = None,
    graded: Graded | None = None,
    reviews: list[tuple[str, dict[str, int]]] = (),  # type: ignore[assignment]
    outcome: Outcome | None = None,
    revoked: bool = False,
    expired: bool = False,
) -> Candidate:
    """A candidate invited to the assessment and taken as far as the arguments say: the link
    opened, a submission with a run (done with `graded`'s report), submitted scorecards by
    (reviewer id, levels), a decision."""
    org_id, now = assessment.org_id, utcnow()
    email = f"{name.lower().replace(' ', '.')}@example.org"
    candidate = Candidate(org_id=org_id, name=name, email=email, alias=f"Candidate {new_id()[:6]}")
    session.add(candidate)
    session.flush()
    submitted = run_state is not None or graded is not None
    state = InvitationState.REVOKED if revoked else InvitationState.PENDING
    session.add(
        Invitation(
            org_id=org_id, assessment_id=assessment.id, candidate_id=candidate.id,
            token_hash=new_id() * 2, expires_at=now + dt.timedelta(days=-1 if expired else 7),
            opened_at=now if opened or submitted else None,
            state=InvitationState.SUBMITTED if submitted else state,
        )
    )  # fmt: skip
    if submitted:
        archive = blobs.put(session, [f"archive of {candidate.id}".encode()])
        submission = Submission(
            org_id=org_id, candidate_id=candidate.id, assessment_id=assessment.id,
            sha256=archive.sha256, size=archive.size, origin="invitation",
        )  # fmt: skip
        session.add(submission)
        session.flush()
        run = Run(org_id=org_id, submission_id=submission.id, challenge=PACK, cores=2,
                  state=run_state or RunState.DONE)  # fmt: skip
        if graded is not None:
            report = blobs.put(session, [graded.document])
            run.report_sha256, run.summary = report.sha256, graded.summary
            run.levels, run.finished_at = signal_levels(graded.summary), now
        session.add(run)
        session.flush()
        for reviewer_id, levels in reviews:
            session.add(Scorecard(org_id=org_id, run_id=run.id, reviewer_id=reviewer_id,
                                  levels=levels, submitted_at=now))  # fmt: skip
    if outcome is not None:
        session.add(Decision(org_id=org_id, candidate_id=candidate.id, outcome=outcome,
                             assessment_id=assessment.id, reason="as discussed"))  # fmt: skip
    session.flush()
    return candidate


def share_code(
    session: Session, assessment: Assessment, pairs: list[tuple[str, str, float]], *others: str
) -> None:
    """Fingerprint the newest submissions of the candidates named (by id) in `pairs` and in
    `others`, and store each pair's similarity as the worker would."""
    named = {c for a, b, _ in pairs for c in (a, b)} | set(others)
    newest = {
        s.candidate_id: s.id
        for s in session.scalars(
            select(Submission)
            .where(Submission.candidate_id.in_(named), Submission.assessment_id == assessment.id)
            .order_by(Submission.created_at)
        )
    }
    for submission_id in newest.values():
        session.add(SubmissionFingerprint(
            submission_id=submission_id, org_id=assessment.org_id,
            assessment_id=assessment.id, hashes=b"", count=100,
        ))  # fmt: skip
    for a, b, similarity in pairs:
        first, second = sorted((newest[a], newest[b]))
        session.add(SimilarityPair(
            org_id=assessment.org_id, assessment_id=assessment.id, a_submission_id=first,
            b_submission_id=second, similarity=similarity, shared=int(similarity * 100),
        ))  # fmt: skip
    session.flush()
