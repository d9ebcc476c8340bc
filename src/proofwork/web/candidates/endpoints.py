from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from proofwork.store.models import Candidate
from proofwork.web.auth import Principal, require
from proofwork.web.candidates import repository, service
from proofwork.web.candidates.schemas import CandidateCreate, CandidateOut
from proofwork.web.deps import ServicesDep, SessionDep
from proofwork.web.pagination import Page, page

router = APIRouter(prefix="/candidates", tags=["candidates"])
Reader = Annotated[Principal, Depends(require("candidates:read"))]
Writer = Annotated[Principal, Depends(require("candidates:write"))]
Eraser = Annotated[Principal, Depends(require("candidates:erase"))]


@router.post("", status_code=201)
def create_candidate(data: CandidateCreate, session: SessionDep, principal: Writer) -> CandidateOut:
    """Add a candidate."""
    candidate = service.create_candidate(session=session, principal=principal, data=data)
    session.commit()
    return CandidateOut.seen_by(candidate, principal)


@router.get("")
def list_candidates(
    session: SessionDep,
    principal: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[CandidateOut]:
    """The organisation's candidates, newest first (aliases only for reviewers)."""
    rows, next_cursor = page(
        session, repository.listing(principal.org_id), Candidate.created_at, Candidate.id,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return Page(items=[CandidateOut.seen_by(r, principal) for r in rows], next_cursor=next_cursor)


@router.get("/{candidate_id}")
def get_candidate(candidate_id: str, session: SessionDep, principal: Reader) -> CandidateOut:
    """One candidate (an alias only for reviewers)."""
    found = service.get_candidate(session=session, principal=principal, candidate_id=candidate_id)
    return CandidateOut.seen_by(found, principal)


@router.delete("/{candidate_id}", status_code=204)
def delete_candidate(
    candidate_id: str, session: SessionDep, principal: Eraser, services: ServicesDep
) -> Response:
    """Erase a candidate for real: their submissions, runs, reports and files go too."""
    service.delete_candidate(
        session=session, principal=principal, blobs=services.blobs, candidate_id=candidate_id
    )
    session.commit()
    return Response(status_code=204)
