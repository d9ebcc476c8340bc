from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from proofwork.store.models import Assessment
from proofwork.web.assessments import repository, service
from proofwork.web.assessments.schemas import AssessmentCreate, AssessmentOut
from proofwork.web.auth import Principal, require
from proofwork.web.deps import ServicesDep, SessionDep
from proofwork.web.pagination import Page, page

router = APIRouter(prefix="/assessments", tags=["assessments"])
Reader = Annotated[Principal, Depends(require("assessments:read"))]
Writer = Annotated[Principal, Depends(require("assessments:write"))]


@router.post("", status_code=201)
def create_assessment(
    data: AssessmentCreate, session: SessionDep, principal: Writer, services: ServicesDep
) -> AssessmentOut:
    """Create an assessment on a challenge pack (or generic)."""
    assessment = service.create_assessment(
        session=session, principal=principal, settings=services.settings, data=data
    )
    session.commit()
    return AssessmentOut.model_validate(assessment)


@router.get("")
def list_assessments(
    session: SessionDep,
    principal: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[AssessmentOut]:
    """The organisation's assessments, newest first."""
    rows, next_cursor = page(
        session, repository.listing(principal.org_id), Assessment.created_at, Assessment.id,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return Page(items=[AssessmentOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{assessment_id}")
def get_assessment(assessment_id: str, session: SessionDep, principal: Reader) -> AssessmentOut:
    """One assessment."""
    found = service.get_assessment(
        session=session, principal=principal, assessment_id=assessment_id
    )
    return AssessmentOut.model_validate(found)
