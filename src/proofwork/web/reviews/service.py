from __future__ import annotations

from sqlalchemy.orm import Session

from proofwork.store.models import Decision, Scorecard, utcnow
from proofwork.web import audit
from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import Principal
from proofwork.web.candidates.service import get_candidate
from proofwork.web.errors import ApiError
from proofwork.web.reviews import blind, repository
from proofwork.web.reviews.schemas import DecisionIn, ScorecardIn
from proofwork.web.reviews.scoring import human_signals
from proofwork.web.runs.service import get_run
from proofwork.webhooks import outbox


def save_scorecard(
    *, session: Session, principal: Principal, run_id: str, data: ScorecardIn
) -> Scorecard:
    """Save (or submit) the caller's scorecard on a run; a submitted one is final."""
    if principal.user_id is None:
        raise ApiError(403, "a scorecard belongs to a person: use a token made for a user")
    bad = {name: level for name, level in data.levels.items() if not 0 <= level <= 4}
    if bad:
        raise ApiError(422, f"levels run from 0 to 4; got {bad}")
    run, _, _ = get_run(session=session, principal=principal, run_id=run_id)
    card = repository.scorecard_of(session, run.id, principal.user_id)
    if card is not None and card.submitted_at is not None:
        raise ApiError(409, "this scorecard was submitted; it can no longer change")
    wanted = {s["name"]: str(s.get("title") or s["name"]) for s in human_signals(run.summary)}
    unknown = sorted(set(data.levels) - set(wanted)) if wanted else []
    if unknown:
        known = ", ".join(wanted)
        raise ApiError(422, f"{', '.join(unknown)}: not scored by reviewers here; score {known}")
    if data.submit:
        check_complete(data, wanted)
    if card is None:
        card = Scorecard(org_id=principal.org_id, run_id=run.id, reviewer_id=principal.user_id)
        session.add(card)
    card.levels, card.justification = data.levels, data.justification
    card.justifications = {name: text.strip() for name, text in data.justifications.items()}
    if data.submit:
        card.submitted_at = utcnow()
        audit.record(session, principal, "submit", "scorecard", run.id)
        session.flush()
        outbox.emit(
            session, principal.org_id, "scorecard.submitted",
            {"run_id": run.id, "scorecard_id": card.id, "levels": card.levels},
        )  # fmt: skip
    session.flush()
    return card


def check_complete(data: ScorecardIn, signals: dict[str, str]) -> None:
    """422 unless the scorecard gives a level and a written justification for every signal
    (`signals`: the run's human-scored signals by name, with their titles, when known)."""
    unscored = [title for name, title in signals.items() if name not in data.levels]
    if unscored or not data.levels:
        missing = ", ".join(unscored) or "any signal"
        raise ApiError(422, f"to submit, give a level for {missing}; or save a draft")
    bare = [
        signals.get(name, name)
        for name in data.levels
        if not data.justifications.get(name, "").strip()
    ]
    if bare:
        named = ", ".join(bare)
        raise ApiError(422, f"to submit, write why you chose each level: none for {named}")


def list_scorecards(*, session: Session, principal: Principal, run_id: str) -> list[Scorecard]:
    """The run's scorecards; a blind reviewer sees only their own until they submit it."""
    run, _, _ = get_run(session=session, principal=principal, run_id=run_id)
    found = repository.scorecards(session, run.id)
    if blind.sees_scores(session, principal, run.id):
        return found
    return [card for card in found if card.reviewer_id == principal.user_id]


def record_decision(
    *, session: Session, principal: Principal, candidate_id: str, data: DecisionIn
) -> Decision:
    """Advance or reject a candidate, with the reason."""
    candidate = get_candidate(session=session, principal=principal, candidate_id=candidate_id)
    if data.assessment_id is not None:
        get_assessment(session=session, principal=principal, assessment_id=data.assessment_id)
    decision = Decision(
        org_id=principal.org_id,
        candidate_id=candidate.id,
        assessment_id=data.assessment_id,
        decided_by=principal.user_id,
        outcome=data.outcome,
        reason=data.reason,
    )
    session.add(decision)
    session.flush()
    audit.record(session, principal, "decide", "candidate", candidate.id, outcome=data.outcome)
    event = {"decision_id": decision.id, "candidate_id": candidate.id, "outcome": data.outcome}
    outbox.emit(session, principal.org_id, "decision.recorded", event)
    return decision


def list_decisions(*, session: Session, principal: Principal, candidate_id: str) -> list[Decision]:
    """The candidate's decisions."""
    candidate = get_candidate(session=session, principal=principal, candidate_id=candidate_id)
    return repository.decisions(session, candidate.id)
