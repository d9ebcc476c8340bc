from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from proofwork.store.models import Invitation
from proofwork.web.auth import Principal, require
from proofwork.web.deps import SessionDep
from proofwork.web.invitations import repository, service
from proofwork.web.invitations.schemas import InvitationCreate, InvitationCreated, InvitationOut
from proofwork.web.pagination import Page, page

router = APIRouter(prefix="/invitations", tags=["invitations"])
Reader = Annotated[Principal, Depends(require("invitations:read"))]
Writer = Annotated[Principal, Depends(require("invitations:write"))]


@router.post("", status_code=201)
def create_invitation(
    data: InvitationCreate, session: SessionDep, principal: Writer
) -> InvitationCreated:
    """Invite a candidate to an assessment; the response holds their token, shown once."""
    invitation, token = service.create_invitation(session=session, principal=principal, data=data)
    session.commit()
    return InvitationCreated(**InvitationOut.model_validate(invitation).model_dump(), token=token)


@router.get("")
def list_invitations(
    session: SessionDep,
    principal: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[InvitationOut]:
    """The organisation's invitations, newest first."""
    rows, next_cursor = page(
        session, repository.listing(principal.org_id), Invitation.created_at, Invitation.id,
        cursor=cursor, limit=limit,
    )  # fmt: skip
    return Page(items=[InvitationOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{invitation_id}")
def get_invitation(invitation_id: str, session: SessionDep, principal: Reader) -> InvitationOut:
    """One invitation."""
    found = service.get_invitation(
        session=session, principal=principal, invitation_id=invitation_id
    )
    return InvitationOut.model_validate(found)


@router.post("/{invitation_id}/revoke")
def revoke_invitation(invitation_id: str, session: SessionDep, principal: Writer) -> InvitationOut:
    """Revoke a pending invitation."""
    found = service.revoke_invitation(
        session=session, principal=principal, invitation_id=invitation_id
    )
    session.commit()
    return InvitationOut.model_validate(found)


@router.post("/{invitation_id}/resend")
def resend_invitation(
    invitation_id: str, session: SessionDep, principal: Writer
) -> InvitationCreated:
    """A new token for a pending invitation (shown once); the old one stops working."""
    invitation, token = service.resend_invitation(
        session=session, principal=principal, invitation_id=invitation_id
    )
    session.commit()
    return InvitationCreated(**InvitationOut.model_validate(invitation).model_dump(), token=token)
