"""Inter-rater agreement of an assessment's reviewers: Krippendorff's alpha at the ordinal level.

The units are the submissions (runs) and the coders the reviewers; only submitted scorecards
count, and a reviewer who skipped a submission is a missing value. Per rubric signal, and for
the assessment as a whole (every signal of every submission a unit). Shown only once at least
two reviewers have each scored at least five submissions: before that, alpha says more about
the sample than about the reviewers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from proofwork.analysis.agreement import alpha, reading
from proofwork.store.models import Run, Scorecard, Submission, User
from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import Principal

MIN_REVIEWERS, MIN_SCORED = 2, 5

Scores = dict[str, dict[str, dict[str, int]]]  # signal -> run -> reviewer -> level


@dataclass(frozen=True)
class Alpha:
    """One alpha with its reading, over how many submissions and reviewers."""

    name: str
    title: str
    value: float | None
    units: int
    reviewers: int

    @property
    def reading(self) -> str:
        """reliable (>= 0.8), tentative (>= 0.667), unreliable, or undefined."""
        return reading(self.value)


@dataclass(frozen=True)
class Agreement:
    """An assessment's agreement, or what is missing before it can be shown."""

    assessment_id: str
    title: str
    scored_by: list[tuple[str, int]]  # (reviewer, submissions scored)
    overall: Alpha | None
    signals: list[Alpha]

    @property
    def ready(self) -> bool:
        """Whether enough reviewers have scored enough submissions."""
        return sum(n >= MIN_SCORED for _, n in self.scored_by) >= MIN_REVIEWERS

    @property
    def missing(self) -> str:
        """What is still needed before alpha is shown (empty once ready)."""
        if self.ready:
            return ""
        enough = sum(n >= MIN_SCORED for _, n in self.scored_by)
        return (
            f"Agreement is shown once at least {MIN_REVIEWERS} reviewers have each scored at "
            f"least {MIN_SCORED} submissions; {enough} reviewer(s) have so far"
        )


def scores(session: Session, assessment_id: str) -> tuple[Scores, dict[str, str]]:
    """Every submitted level on the assessment's runs, and the reviewers' display names."""
    rows = session.execute(
        select(Scorecard.run_id, Scorecard.reviewer_id, Scorecard.levels, User.name, User.email)
        .join(Run, Run.id == Scorecard.run_id)
        .join(Submission, Submission.id == Run.submission_id)
        .join(User, User.id == Scorecard.reviewer_id)
        .where(Submission.assessment_id == assessment_id, Scorecard.submitted_at.is_not(None))
    ).all()
    found: Scores = defaultdict(lambda: defaultdict(dict))
    names = {}
    for run_id, reviewer_id, levels, name, email in rows:
        names[reviewer_id] = name or email
        for signal, level in levels.items():
            if isinstance(level, int) and not isinstance(level, bool):
                found[signal][run_id][reviewer_id] = level
    return found, names


def _alpha(name: str, title: str, units: dict[str, dict[str, int]]) -> Alpha:
    reviewers = {r for levels in units.values() for r in levels}
    value = alpha([list(levels.values()) for levels in units.values()], "ordinal")
    return Alpha(name, title, value, len(units), len(reviewers))


def agreement(
    *, session: Session, principal: Principal, assessment_id: str, titles: dict[str, str]
) -> Agreement:
    """The assessment's agreement per rubric signal and overall (`titles` names the signals)."""
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    found, names = scores(session, assessment.id)
    scored: dict[str, set[str]] = defaultdict(set)
    for units in found.values():
        for run_id, levels in units.items():
            for reviewer in levels:
                scored[reviewer].add(run_id)
    scored_by = sorted((names[reviewer], len(runs)) for reviewer, runs in scored.items())
    waiting = Agreement(assessment.id, assessment.title, scored_by, None, [])
    if not waiting.ready:
        return waiting
    signals = [
        _alpha(name, titles.get(name, name.replace("_", " ").capitalize()), found[name])
        for name in sorted(found, key=lambda n: (n not in titles, n))
    ]
    pooled = {f"{name}/{run}": levels for name in found for run, levels in found[name].items()}
    overall = _alpha("overall", "All rubric signals", pooled)
    return Agreement(assessment.id, assessment.title, scored_by, overall, signals)
