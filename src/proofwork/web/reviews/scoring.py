"""A reviewer's work: the queue of submissions to score and the scoring sheet of one run.

The sheet shows what a blind reviewer may read (the rubric's anchored levels, the material, the
change against the starter and the commits, with the candidate's name replaced by the alias);
the machine signals' levels, the other reviewers' scorecards and the disagreements between
them join it once the reviewer has submitted their own.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from proofwork.challenges import HUMAN_SIGNALS
from proofwork.reports.history_view import section_view
from proofwork.reports.html import diff_lines
from proofwork.reports.signal_view import SignalView, signal_view
from proofwork.signals import AWAITING
from proofwork.store.blobs import BlobStore
from proofwork.store.models import Assessment, Candidate, Run, RunState, Scorecard, Submission, User
from proofwork.web.auth import Principal
from proofwork.web.errors import ApiError
from proofwork.web.reviews import blind
from proofwork.web.runs.service import get_run

# Two levels apart on one signal: the rubric is read differently, worth a calibration talk.
DISAGREEMENT = 2
QUEUE_LIMIT = 200


def human_signals(summary: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The run's human-scored signals (awaiting review), as its summary lists them."""
    signals = (summary or {}).get("signals") or []
    return [s for s in signals if isinstance(s, dict) and s.get("status") == AWAITING]


@dataclass(frozen=True)
class QueueItem:
    """A submission waiting for the reviewer's scorecard."""

    run_id: str
    alias: str
    assessment: str
    finished: str  # when its run ended, "YYYY-MM-DD HH:MM" UTC
    signals: list[str]
    draft: bool


def queue(*, session: Session, principal: Principal) -> list[QueueItem]:
    """Done runs of the organisation's assessments with human-scored signals that the caller
    has not submitted a scorecard on: the latest run of each submission, oldest first.

    One query over narrow columns (a run's `levels`, not its summary), so it stays quick with
    thousands of runs."""
    latest = (
        select(
            Run.id.label("run_id"),
            func.row_number()
            .over(partition_by=Run.submission_id, order_by=(Run.finished_at.desc(), Run.id.desc()))
            .label("rank"),
        )
        .where(Run.org_id == principal.org_id, Run.state == RunState.DONE)
        .subquery()
    )
    mine = Scorecard.run_id == Run.id, Scorecard.reviewer_id == principal.user_id
    query = (
        select(
            Run.id, Run.finished_at, Run.levels, Candidate.alias, Assessment.title,
            exists().where(*mine).label("draft"),
        )
        .join(latest, (latest.c.run_id == Run.id) & (latest.c.rank == 1))
        .join(Submission, Submission.id == Run.submission_id)
        .join(Assessment, Assessment.id == Submission.assessment_id)
        .outerjoin(Candidate, Candidate.id == Submission.candidate_id)
        .where(~exists().where(*mine, Scorecard.submitted_at.is_not(None)))
        .order_by(Run.finished_at, Run.id)
        .limit(QUEUE_LIMIT)
    )  # fmt: skip
    items: list[QueueItem] = []
    # Runs without rubric signals (a generic assessment) are skipped: read on until enough.
    for offset in itertools.count(0, QUEUE_LIMIT):
        rows = session.execute(query.offset(offset)).all()
        for run_id, finished_at, levels, alias, title, draft in rows:
            wanted = [name for name in HUMAN_SIGNALS if name in (levels or {})]
            if wanted:
                ended = finished_at.strftime("%Y-%m-%d %H:%M") if finished_at else ""
                names = [name.replace("_", " ").capitalize() for name in wanted]
                alias = alias or "Unnamed submission"
                items.append(QueueItem(run_id, alias, title, ended, names, bool(draft)))
        if len(rows) < QUEUE_LIMIT or len(items) >= QUEUE_LIMIT:
            break
    return items[:QUEUE_LIMIT]


@dataclass(frozen=True)
class CardView:
    """A submitted scorecard as other scorers see it."""

    reviewer: str
    levels: dict[str, int]
    justifications: dict[str, str]
    mine: bool


@dataclass(frozen=True)
class Disagreement:
    """A signal on which submitted levels are two or more apart."""

    signal: str
    title: str
    levels: dict[str, int]  # reviewer -> level

    @property
    def spread(self) -> int:
        """How many levels apart the furthest scores are."""
        return max(self.levels.values()) - min(self.levels.values())


@dataclass
class ScoringSheet:
    """What the scoring page shows of one run to one scorer."""

    run_id: str
    alias: str
    assessment: str
    rubric: list[SignalView]
    material: dict[str, str]
    history: dict[str, Any] | None
    mine: Scorecard | None
    sees_scores: bool
    machine: list[SignalView] = field(default_factory=list)
    cards: list[CardView] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)

    @property
    def submitted(self) -> bool:
        """Whether the scorer's own scorecard is submitted (final)."""
        return self.mine is not None and self.mine.submitted_at is not None


def _report(session: Session, blobs: BlobStore, run: Run) -> dict[str, Any]:
    if run.state != RunState.DONE or run.report_sha256 is None:
        raise ApiError(409, f"the run is {run.state}; it can be scored once it is done")
    loaded: dict[str, Any] = json.loads(blobs.read(session, run.report_sha256))
    return loaded


def _redacted_history(history: dict[str, Any], hide: blind.Redactor) -> dict[str, Any]:
    commits = [
        {**c, "author": hide(str(c.get("author", ""))), "subject": hide(str(c.get("subject", "")))}
        for c in history.get("commits") or []
    ]
    redacted = {**history, "commits": commits}
    if isinstance(history.get("starter_diff"), dict):
        changes = history["starter_diff"]
        redacted["starter_diff"] = {**changes, "diff": hide(str(changes.get("diff", "")))}
    return redacted


def sheet(*, session: Session, principal: Principal, blobs: BlobStore, run_id: str) -> ScoringSheet:
    """The scoring sheet of a run for the caller: blind until their scorecard is submitted."""
    run, submission, candidate = get_run(session=session, principal=principal, run_id=run_id)
    report = _report(session, blobs, run)
    hide = blind.redactor(candidate)
    signals = [signal_view(raw) for raw in report.get("signals") or [] if isinstance(raw, dict)]
    material = report.get("review") or {}
    assessment = session.get(Assessment, submission.assessment_id or "")
    mine = session.scalar(
        select(Scorecard).where(
            Scorecard.run_id == run.id, Scorecard.reviewer_id == principal.user_id
        )
    )
    result = ScoringSheet(
        run_id=run.id,
        alias=candidate.alias if candidate else "Unnamed submission",
        assessment=assessment.title if assessment else "",
        rubric=[s for s in signals if s.awaiting],
        material={str(name): hide(str(text)) for name, text in material.items()},
        history=section_view(_redacted_history(report.get("history") or {}, hide), diff_lines),
        mine=mine,
        sees_scores=blind.sees_scores(session, principal, run.id),
    )
    if result.sees_scores:
        result.machine = [s for s in signals if not s.awaiting]
        result.cards = cards(session, run.id, principal.user_id)
        result.disagreements = disagreements(result.cards, result.rubric)
    return result


def cards(session: Session, run_id: str, user_id: str | None) -> list[CardView]:
    """The run's submitted scorecards with their reviewers, the caller's first."""
    rows = session.execute(
        select(Scorecard, User.name, User.email)
        .join(User, User.id == Scorecard.reviewer_id)
        .where(Scorecard.run_id == run_id, Scorecard.submitted_at.is_not(None))
        .order_by(Scorecard.submitted_at)
    ).all()
    found = [
        CardView(
            name or email, dict(card.levels), dict(card.justifications), card.reviewer_id == user_id
        )
        for card, name, email in rows
    ]
    return sorted(found, key=lambda c: not c.mine)


def disagreements(found: list[CardView], rubric: list[SignalView]) -> list[Disagreement]:
    """The signals on which two submitted scorecards are DISAGREEMENT levels or more apart."""
    titles = {s.name: s.title for s in rubric}
    order = list(titles)
    names = sorted(
        {name for card in found for name in card.levels},
        key=lambda n: (order.index(n) if n in order else len(order), n),
    )
    flagged = []
    for name in names:
        levels = {c.reviewer: c.levels[name] for c in found if name in c.levels}
        if len(levels) >= 2 and max(levels.values()) - min(levels.values()) >= DISAGREEMENT:
            title = titles.get(name) or name.replace("_", " ").capitalize()
            flagged.append(Disagreement(name, title, levels))
    return flagged


@dataclass(frozen=True)
class Calibration:
    """A submission whose reviewers disagree by two levels or more on some signal."""

    run_id: str
    alias: str
    disagreements: list[Disagreement]


def calibrations(
    *, session: Session, principal: Principal, assessment_id: str
) -> list[Calibration]:
    """The assessment's submissions flagged for a calibration discussion: for the hiring team
    all of them, for a blind reviewer those whose scorecard they have submitted."""
    rows = session.execute(
        select(Scorecard, User.name, User.email, Candidate.alias)
        .join(User, User.id == Scorecard.reviewer_id)
        .join(Run, Run.id == Scorecard.run_id)
        .join(Submission, Submission.id == Run.submission_id)
        .outerjoin(Candidate, Candidate.id == Submission.candidate_id)
        .where(
            Scorecard.org_id == principal.org_id,
            Submission.assessment_id == assessment_id,
            Scorecard.submitted_at.is_not(None),
        )
        .order_by(Scorecard.run_id, Scorecard.submitted_at)
    ).all()
    by_run: dict[str, list[CardView]] = {}
    aliases: dict[str, str] = {}
    for card, name, email, alias in rows:
        mine = card.reviewer_id == principal.user_id
        view = CardView(name or email, dict(card.levels), dict(card.justifications), mine)
        by_run.setdefault(card.run_id, []).append(view)
        aliases[card.run_id] = alias or "Unnamed submission"
    flagged = []
    for run_id, found in by_run.items():
        if blind.scores_blind(principal) and not any(c.mine for c in found):
            continue
        if disagreeing := disagreements(found, []):
            flagged.append(Calibration(run_id, aliases[run_id], disagreeing))
    return sorted(flagged, key=lambda c: c.alias)
