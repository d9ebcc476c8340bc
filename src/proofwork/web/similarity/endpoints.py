from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import Principal, require
from proofwork.web.deps import SessionDep
from proofwork.web.similarity import service
from proofwork.web.similarity.schemas import AssessmentSimilarityOut

router = APIRouter(prefix="/assessments", tags=["similarity"])
Reader = Annotated[Principal, Depends(require("similarity:read"))]


@router.get("/{assessment_id}/similarity")
def assessment_similarity(
    assessment_id: str, session: SessionDep, principal: Reader
) -> AssessmentSimilarityOut:
    """Pairs of the assessment's submissions that share code beyond the starter (at or above
    the threshold), most similar first."""
    get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    return service.assessment_similarity(
        session=session, principal=principal, assessment_id=assessment_id
    )
