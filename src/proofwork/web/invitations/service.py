from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from proofwork.store.models import Assessment, Invitation, InvitationState, utcnow
from proofwork.web import audit
from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import INVITATION_PREFIX, Principal, hash_secret, new_secret
from proofwork.web.candidates.service import get_candidate
from proofwork.web.errors import ApiError, not_found
from proofwork.web.invitations import repository
from proofwork.web.invitations.schemas import InvitationCreate


def create_invitation(
    *, session: Session, principal: Principal, data: InvitationCreate
) -> tuple[Invitation, str]:
    """A pending invitation and its token (only the token's hash is kept)."""
    assessment = get_assessment(
        session=session, principal=principal, assessment_id=data.assessment_id
    )
    get_candidate(session=session, principal=principal, candidate_id=data.candidate_id)
    invitation = Invitation(
        org_id=principal.org_id, assessment_id=assessment.id, candidate_id=data.candidate_id
    )
    token = _new_link(invitation, assessment)
    session.add(invitation)
    session.flush()
    audit.record(session, principal, "create", "invitation", invitation.id)
    return invitation, token


def _new_link(invitation: Invitation, assessment: Assessment) -> str:
    """Give the invitation a new token (returned; only its hash is kept) and a new expiry."""
    token = new_secret(INVITATION_PREFIX)
    invitation.token_hash = hash_secret(token)
    invitation.expires_at = utcnow() + dt.timedelta(hours=assessment.invitation_expiry_hours)
    return token


def get_invitation(*, session: Session, principal: Principal, invitation_id: str) -> Invitation:
    """The caller's organisation's invitation; 404 for anything else."""
    found = repository.get(session, principal.org_id, invitation_id)
    if found is None:
        raise not_found("invitation")
    return found


def revoke_invitation(*, session: Session, principal: Principal, invitation_id: str) -> Invitation:
    """Revoke a pending invitation: its token stops working."""
    invitation = get_invitation(session=session, principal=principal, invitation_id=invitation_id)
    if invitation.state != InvitationState.PENDING:
        raise ApiError(409, f"the invitation is {invitation.state}, not pending")
    invitation.state = InvitationState.REVOKED
    audit.record(session, principal, "revoke", "invitation", invitation.id)
    return invitation


def resend_invitation(
    *, session: Session, principal: Principal, invitation_id: str
) -> tuple[Invitation, str]:
    """A new link for a pending invitation, expired or not: the old link stops working."""
    invitation = get_invitation(session=session, principal=principal, invitation_id=invitation_id)
    if invitation.state != InvitationState.PENDING:
        raise ApiError(409, f"the invitation is {invitation.state}; only a pending one is resent")
    token = _new_link(invitation, session.get_one(Assessment, invitation.assessment_id))
    audit.record(session, principal, "resend", "invitation", invitation.id)
    return invitation, token
