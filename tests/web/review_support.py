"""A scoreable run: a done run whose report has machine levels, rubric signals awaiting review,
and material, a starter diff and commits in which the candidate wrote their own name."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from proofwork.jobs.queue import signal_levels
from proofwork.store.blobs import BlobStore
from proofwork.store.models import Candidate, Run, RunState, Submission, utcnow

HUMAN = ("business_understanding", "tradeoff_reasoning")
ANCHORS = ["misses the point", "restates the brief", "covers the rules", "weighs options", "argues"]


def _awaiting(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": name.replace("_", " ").capitalize(),
        "status": "awaiting review",
        "description": f"How well does the work show {name.replace('_', ' ')}?",
        "levels": [
            {"level": n, "label": label.capitalize(), "description": f"Level {n}: {label}."}
            for n, label in enumerate(ANCHORS)
        ],
        "material": ["DECISIONS.md"],
        "evidence": [],
    }


def report(name: str, email: str) -> dict[str, Any]:
    """A report as the engine writes one, the candidate's name and e-mail inside their work."""
    return {
        "schema": "proofwork.report/1",
        "signals": [
            {
                "name": "production_readiness",
                "title": "Production readiness",
                "status": "scored",
                "level": 3,
                "label": "Holds up",
                "description": "Survives the faults",
                "evidence": ["acceptance.pass_rate = 1 (needs >= 0.9)"],
            },
            *[_awaiting(n) for n in HUMAN],
        ],
        "review": {
            "DECISIONS.md": f"# Decisions\n\nBy {name} <{email}>.\n\nI chose SQLite because "
            f"the brief says one machine. -- {name.split()[-1]}\n"
        },
        "history": {
            "commits": [
                {"sha": "a" * 40, "authored": 1_700_000_000, "author": "Proofwork kit",
                 "subject": "starter", "files": 9, "added": 300, "removed": 0, "kit": True},
                {"sha": "b" * 40, "authored": 1_700_003_600, "author": name,
                 "subject": f"{name.split()[0]}'s idempotency keys", "files": 2, "added": 40,
                 "removed": 3, "kit": False},
            ],
            "candidate_commits": 1,
            "span_minutes": 0.0,
            "time_box_minutes": 240,
            "squashed": True,
            "beyond_time_box": False,
            "starter_diff": {
                "added": 1, "changed": 1, "removed": 0,
                "diff": "--- starter/app.py\n+++ app.py\n@@ -1,2 +1,3 @@\n def create():\n"
                f"-    pass\n+    # {name}: keys make retries safe\n+    return store.put()\n",
            },
        },
    }  # fmt: skip


def scoreable_run(
    session: Session,
    blobs: BlobStore,
    *,
    candidate: Candidate,
    assessment_id: str,
    body: dict[str, Any] | None = None,
) -> Run:
    """A done run of a new submission by the candidate on the assessment, its report stored
    (`body`, else `report()` of the candidate)."""
    body = body or report(candidate.name, candidate.email)
    archive = blobs.put(session, [candidate.id.encode() + utcnow().isoformat().encode()])
    submission = Submission(
        org_id=candidate.org_id,
        candidate_id=candidate.id,
        assessment_id=assessment_id,
        sha256=archive.sha256,
        size=archive.size,
        origin="upload",
    )
    session.add(submission)
    session.flush()
    stored = blobs.put(session, [json.dumps(body).encode()])
    html = blobs.put(session, [f"<!doctype html><p>{candidate.name}</p>".encode()])
    run = Run(
        org_id=candidate.org_id,
        submission_id=submission.id,
        state=RunState.DONE,
        report_sha256=stored.sha256,
        html_sha256=html.sha256,
        summary={"submission_sha256": archive.sha256, "signals": body["signals"]},
        levels=signal_levels({"signals": body["signals"]}),
        finished_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def card(levels: tuple[int, int], *, submit: bool = True) -> dict[str, Any]:
    """A scorecard body giving both human signals a level, each with its reason."""
    return {
        "levels": dict(zip(HUMAN, levels, strict=True)),
        "justifications": {name: f"{name}: read DECISIONS.md" for name in HUMAN},
        "submit": submit,
    }
