from __future__ import annotations

from sqlalchemy.orm import Session

from proofwork.challenges import PackError, discover
from proofwork.config import Settings
from proofwork.store.models import Assessment
from proofwork.web import audit
from proofwork.web.assessments import repository
from proofwork.web.assessments.schemas import AssessmentCreate
from proofwork.web.auth import Principal
from proofwork.web.errors import ApiError, not_found

GENERIC_TIME_BOX_MINUTES = 120


def create_assessment(
    *, session: Session, principal: Principal, settings: Settings, data: AssessmentCreate
) -> Assessment:
    """A new assessment on a pack this service has (its version pinned), or a generic one."""
    version, time_box = None, data.time_box_minutes or GENERIC_TIME_BOX_MINUTES
    if data.pack_id is not None:
        try:
            pack = discover(settings.challenges_path).get(data.pack_id)
        except PackError as exc:
            raise ApiError(422, str(exc), "unknown_pack") from exc
        version, time_box = pack.spec.version, data.time_box_minutes or pack.spec.time_box_minutes
    assessment = Assessment(
        org_id=principal.org_id,
        title=data.title,
        pack_id=data.pack_id,
        pack_version=version,
        time_box_minutes=time_box,
        invitation_expiry_hours=data.invitation_expiry_hours,
        feedback_visible=data.feedback_visible,
    )
    session.add(assessment)
    session.flush()
    audit.record(session, principal, "create", "assessment", assessment.id)
    return assessment


def get_assessment(*, session: Session, principal: Principal, assessment_id: str) -> Assessment:
    """The caller's organisation's assessment; 404 for anything else."""
    found = repository.get(session, principal.org_id, assessment_id)
    if found is None:
        raise not_found("assessment")
    return found
