from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from proofwork.web.auth import Principal, require
from proofwork.web.deps import SessionDep
from proofwork.web.reviews import service
from proofwork.web.reviews.schemas import DecisionIn, DecisionOut, ScorecardIn, ScorecardOut

router = APIRouter(tags=["reviews"])
CardReader = Annotated[Principal, Depends(require("scorecards:read"))]
CardWriter = Annotated[Principal, Depends(require("scorecards:write"))]
DecisionReader = Annotated[Principal, Depends(require("decisions:read"))]
DecisionWriter = Annotated[Principal, Depends(require("decisions:write"))]


@router.get("/runs/{run_id}/scorecards")
def list_scorecards(run_id: str, session: SessionDep, principal: CardReader) -> list[ScorecardOut]:
    """The reviewers' scorecards on a run."""
    cards = service.list_scorecards(session=session, principal=principal, run_id=run_id)
    return [ScorecardOut.model_validate(c) for c in cards]


@router.put("/runs/{run_id}/scorecards/mine")
def save_scorecard(
    run_id: str, data: ScorecardIn, session: SessionDep, principal: CardWriter
) -> ScorecardOut:
    """Save or submit your scorecard on a run (levels 0-4 per human-scored signal)."""
    card = service.save_scorecard(session=session, principal=principal, run_id=run_id, data=data)
    session.commit()
    return ScorecardOut.model_validate(card)


@router.get("/candidates/{candidate_id}/decisions")
def list_decisions(
    candidate_id: str, session: SessionDep, principal: DecisionReader
) -> list[DecisionOut]:
    """The decisions recorded on a candidate."""
    found = service.list_decisions(session=session, principal=principal, candidate_id=candidate_id)
    return [DecisionOut.model_validate(d) for d in found]


@router.post("/candidates/{candidate_id}/decisions", status_code=201)
def record_decision(
    candidate_id: str, data: DecisionIn, session: SessionDep, principal: DecisionWriter
) -> DecisionOut:
    """Advance or reject a candidate, with the reason."""
    decision = service.record_decision(
        session=session, principal=principal, candidate_id=candidate_id, data=data
    )
    session.commit()
    return DecisionOut.model_validate(decision)
