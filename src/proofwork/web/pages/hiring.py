"""The hiring team's pages: dashboard, new assessment, invitations, pipeline, compare, decisions.

Handlers parse the form, call `web.hiring.service` (the API's services), commit and render;
an ApiError from a service becomes the error page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from proofwork.challenges import HUMAN_SIGNALS, MACHINE_SIGNALS
from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import Assessment, Outcome
from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import Principal
from proofwork.web.candidates.service import delete_candidate, get_candidate
from proofwork.web.deps import ServicesDep, SessionDep
from proofwork.web.errors import ApiError
from proofwork.web.hiring import repository, service
from proofwork.web.hiring.roster import MAX_BYTES, RosterError, parse_roster
from proofwork.web.invitations.service import resend_invitation, revoke_invitation
from proofwork.web.mail import send_mail
from proofwork.web.markdown import render_markdown
from proofwork.web.pages.runs import REPORT_HEADERS
from proofwork.web.pages.session import require_page
from proofwork.web.pages.templating import add_nav, render
from proofwork.web.reviews.schemas import DecisionIn
from proofwork.web.reviews.service import record_decision
from proofwork.web.similarity.service import pair_report

if TYPE_CHECKING:
    from proofwork.web.app import Services

router = APIRouter()
Hiring = Annotated[Principal, Depends(require_page("invitations:read"))]
Creator = Annotated[Principal, Depends(require_page("assessments:write"))]
Inviter = Annotated[Principal, Depends(require_page("invitations:write"))]
Decider = Annotated[Principal, Depends(require_page("decisions:write"))]
Eraser = Annotated[Principal, Depends(require_page("candidates:erase"))]
add_nav("Assessments", "/assessments", "invitations:read", order=10)

NOTICES = {
    "created": "The assessment is ready: invite candidates to it.",
    "resent": "A new link was sent; the old one no longer works.",
    "revoked": "The invitation was revoked; its link no longer works.",
    "decided": "The decision was recorded.",
    "deleted": "The candidate and everything about them were deleted.",
}


def _notice(done: str | None) -> str | None:
    return NOTICES.get(done or "")


def _see(path: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode({'done': done})}", status_code=303)


@router.get("/assessments")
def dashboard(
    request: Request, session: SessionDep, principal: Hiring, done: str | None = None
) -> Response:
    """The organisation's assessments with their counts."""
    rows = service.dashboard(session=session, principal=principal)
    context = {"rows": rows, "counted": repository.COUNTED, "notice": _notice(done)}
    return render(request, "hiring/dashboard.html", context)


def _new_form(
    request: Request,
    services: Services,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
) -> Response:
    packs = service.packs(services.settings)
    chosen = packs.get(values.get("pack_id") or "") or next(iter(packs.values()), None)
    context = {
        "packs": packs,
        "chosen": chosen,
        "brief": render_markdown(chosen.brief) if chosen else None,
        "values": values,
        "problems": problems or {},
    }
    return render(request, "hiring/new.html", context, status_code=422 if problems else 200)


FORM_FIELDS = ("title", "pack_id", "time_box_minutes", "invitation_expiry_hours")


@router.get("/assessments/new")
def new_assessment(
    request: Request,
    services: ServicesDep,
    principal: Creator,
    title: str = "",
    pack_id: str = "",
    time_box_minutes: str = "",
    invitation_expiry_hours: str = "168",
    feedback_visible: str = "",
) -> Response:
    """The form for a new assessment, with the chosen pack's brief shown below it."""
    values = dict(zip(FORM_FIELDS, (title, pack_id, time_box_minutes, invitation_expiry_hours),
                      strict=True), feedback_visible=feedback_visible)  # fmt: skip
    return _new_form(request, services, values)


@router.post("/assessments/new")
def create_assessment(
    request: Request,
    services: ServicesDep,
    principal: Creator,
    title: Annotated[str, Form()] = "",
    pack_id: Annotated[str, Form()] = "",
    time_box_minutes: Annotated[str, Form()] = "",
    invitation_expiry_hours: Annotated[str, Form()] = "",
    feedback_visible: Annotated[str, Form()] = "",
) -> Response:
    """Create the assessment, or show the form again saying what to correct."""
    values = dict(zip(FORM_FIELDS, (title, pack_id, time_box_minutes, invitation_expiry_hours),
                      strict=True), feedback_visible=feedback_visible)  # fmt: skip
    try:
        with unit_of_work(services.factory) as session:
            assessment = service.create_from_form(
                session=session, principal=principal, settings=services.settings, form=values
            )
            assessment_id = assessment.id
    except service.FormError as exc:
        return _new_form(request, services, values, exc.problems)
    return _see(f"/assessments/{assessment_id}", "created")


@router.get("/assessments/{assessment_id}")
def pipeline(
    request: Request,
    assessment_id: str,
    session: SessionDep,
    principal: Hiring,
    sort: str | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: str | None = None,
) -> Response:
    """The assessment's candidates, one row each, sortable by every column and signal."""
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    found = service.pipeline(
        session=session, principal=principal, assessment_id=assessment_id, sort=sort, page=page
    )
    context = {
        "assessment": assessment,
        "found": found,
        "machine_signals": MACHINE_SIGNALS,
        "human_signals": HUMAN_SIGNALS,
        "notice": _notice(done),
        "compare_max": service.COMPARE_MAX,
    }
    return render(request, "hiring/pipeline.html", context)


def _invite_page(
    request: Request,
    assessment: Assessment,
    *,
    invited: list[service.Invited] | None = None,
    problems: list[str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "assessment": assessment,
        "invited": invited or [],
        "problems": problems or [],
        "values": values or {},
        "max_kib": MAX_BYTES // 1024,
    }
    return render(request, "hiring/invite.html", context, status_code=status_code)


@router.get("/assessments/{assessment_id}/invite")
def invite_form(
    request: Request, assessment_id: str, session: SessionDep, principal: Inviter
) -> Response:
    """Invite candidates one by one or from a CSV file."""
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    return _invite_page(request, assessment)


def _assessment(services: Services, principal: Principal, assessment_id: str) -> Assessment:
    with read_only(services.read_factory) as session:
        return get_assessment(session=session, principal=principal, assessment_id=assessment_id)


def _mail_invitations(
    request: Request, services: Services, assessment: Assessment, invited: list[service.Invited]
) -> None:
    for one in invited:
        link = str(request.base_url).rstrip("/") + f"/i/{one.token}/"
        subject, text = service.invitation_mail(assessment, one.candidate, link)
        send_mail(
            services, org_id=assessment.org_id, to=one.candidate.email, subject=subject,
            text=text, link=link,
        )  # fmt: skip


@router.post("/assessments/{assessment_id}/invite")
def invite_one(
    request: Request,
    assessment_id: str,
    services: ServicesDep,
    principal: Inviter,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
) -> Response:
    """Invite one person by name and e-mail, and mail them their link."""
    assessment = _assessment(services, principal, assessment_id)
    try:
        with unit_of_work(services.factory) as session:
            invited = service.invite(
                session=session, principal=principal, assessment_id=assessment_id,
                name=name, email=email,
            )  # fmt: skip
    except ApiError as exc:
        if exc.status == 404:
            raise
        return _invite_page(
            request, assessment, problems=[exc.message],
            values={"name": name, "email": email}, status_code=exc.status,
        )  # fmt: skip
    _mail_invitations(request, services, assessment, [invited])
    return _invite_page(request, assessment, invited=[invited])


@router.post("/assessments/{assessment_id}/invite/file")
def invite_file(
    request: Request,
    assessment_id: str,
    services: ServicesDep,
    principal: Inviter,
    roster: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Invite everyone in a `name,email` CSV, or nobody when a line is wrong (listed)."""
    data = roster.file.read(MAX_BYTES + 1) if roster is not None else b""
    assessment = _assessment(services, principal, assessment_id)
    try:
        entries = parse_roster(data)
        with unit_of_work(services.factory) as session:
            invited = service.invite_roster(
                session=session, principal=principal, assessment_id=assessment_id,
                entries=entries,
            )  # fmt: skip
    except RosterError as exc:
        return _invite_page(request, assessment, problems=exc.problems, status_code=422)
    _mail_invitations(request, services, assessment, invited)
    return _invite_page(request, assessment, invited=invited)


@router.get("/assessments/{assessment_id}/compare")
def compare(
    request: Request,
    assessment_id: str,
    session: SessionDep,
    services: ServicesDep,
    principal: Hiring,
    c: Annotated[list[str], Query(max_length=32)] = [],  # noqa: B006 - FastAPI copies it
) -> Response:
    """2-5 candidates side by side."""
    found = service.compare(
        session=session, principal=principal, blobs=services.blobs, settings=services.settings,
        assessment_id=assessment_id, candidate_ids=c,
    )  # fmt: skip
    return render(request, "hiring/compare.html", {"found": found})


@router.get("/assessments/{assessment_id}/similarity")
def similar_pair(
    assessment_id: str,
    session: SessionDep,
    services: ServicesDep,
    principal: Hiring,
    first: Annotated[str, Query(alias="a", max_length=64)] = "",
    second: Annotated[str, Query(alias="b", max_length=64)] = "",
) -> Response:
    """Two submissions' shared code side by side (a self-contained page, framed like a run's
    report: its own styles, no script)."""
    html = pair_report(
        session=session, principal=principal, blobs=services.blobs, settings=services.settings,
        assessment_id=assessment_id, submission_ids=(first, second),
    )  # fmt: skip
    return Response(html, media_type="text/html", headers=REPORT_HEADERS)


def _candidate_context(
    session: Session, principal: Principal, assessment_id: str, candidate_id: str
) -> dict[str, object]:
    assessment = get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    rows = repository.pipeline_rows(session, principal.org_id, assessment.id, [candidate_id])
    if not rows:
        raise ApiError(404, "no such candidate in this assessment")
    org = principal.org_id
    return {
        "assessment": assessment,
        "row": rows[0],
        "runs": repository.runs_of(session, org, assessment.id, candidate_id),
        "decisions": repository.decisions_of(session, org, assessment.id, candidate_id),
        "outcomes": list(Outcome),
    }


@router.get("/assessments/{assessment_id}/candidates/{candidate_id}")
def candidate_page(
    request: Request,
    assessment_id: str,
    candidate_id: str,
    session: SessionDep,
    principal: Hiring,
    done: str | None = None,
) -> Response:
    """One candidate of the assessment: their invitation, runs, decisions, and what to do."""
    context = _candidate_context(session, principal, assessment_id, candidate_id)
    return render(request, "hiring/candidate.html", {**context, "notice": _notice(done)})


def _invitation_id(
    session: Session, principal: Principal, assessment_id: str, candidate_id: str
) -> str:
    """The candidate's newest invitation to the assessment; 404 or 409 when there is none."""
    get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    get_candidate(session=session, principal=principal, candidate_id=candidate_id)
    found = repository.invitations_of(session, principal.org_id, assessment_id, [candidate_id])
    if candidate_id not in found:
        raise ApiError(409, "this candidate has no invitation to this assessment")
    return found[candidate_id].id


def _candidate_path(assessment_id: str, candidate_id: str) -> str:
    return f"/assessments/{assessment_id}/candidates/{candidate_id}"


@router.post("/assessments/{assessment_id}/candidates/{candidate_id}/resend")
def resend(
    request: Request,
    assessment_id: str,
    candidate_id: str,
    services: ServicesDep,
    principal: Inviter,
) -> Response:
    """A new link for the candidate (mailed); the old one stops working."""
    with unit_of_work(services.factory) as session:
        invitation, token = resend_invitation(
            session=session, principal=principal,
            invitation_id=_invitation_id(session, principal, assessment_id, candidate_id),
        )  # fmt: skip
        assessment = get_assessment(
            session=session, principal=principal, assessment_id=assessment_id
        )
        candidate = get_candidate(session=session, principal=principal, candidate_id=candidate_id)
        invited = service.Invited(candidate, invitation, token)
    _mail_invitations(request, services, assessment, [invited])
    return _see(_candidate_path(assessment_id, candidate_id), "resent")


@router.post("/assessments/{assessment_id}/candidates/{candidate_id}/revoke")
def revoke(
    assessment_id: str, candidate_id: str, services: ServicesDep, principal: Inviter
) -> Response:
    """Revoke the candidate's pending invitation."""
    with unit_of_work(services.factory) as session:
        invitation_id = _invitation_id(session, principal, assessment_id, candidate_id)
        revoke_invitation(session=session, principal=principal, invitation_id=invitation_id)
    return _see(_candidate_path(assessment_id, candidate_id), "revoked")


@router.post("/assessments/{assessment_id}/candidates/{candidate_id}/decision")
def decide(
    request: Request,
    assessment_id: str,
    candidate_id: str,
    services: ServicesDep,
    principal: Decider,
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Advance or reject the candidate, with a reason (both required)."""
    problems = {}
    if outcome not in {o.value for o in Outcome}:
        problems["outcome"] = "Choose advance or reject."
    if not reason.strip():
        problems["reason"] = "Give the reason for the decision; the candidate's file keeps it."
    if problems:
        with read_only(services.read_factory) as session:
            context = _candidate_context(session, principal, assessment_id, candidate_id)
        context.update(problems=problems, values={"outcome": outcome, "reason": reason})
        return render(request, "hiring/candidate.html", context, status_code=422)
    data = DecisionIn(outcome=Outcome(outcome), reason=reason.strip(), assessment_id=assessment_id)
    with unit_of_work(services.factory) as session:
        _candidate_context(session, principal, assessment_id, candidate_id)
        record_decision(session=session, principal=principal, candidate_id=candidate_id, data=data)
    return _see(_candidate_path(assessment_id, candidate_id), "decided")


@router.get("/assessments/{assessment_id}/candidates/{candidate_id}/delete")
def confirm_delete(
    request: Request,
    assessment_id: str,
    candidate_id: str,
    session: SessionDep,
    principal: Eraser,
) -> Response:
    """Ask before deleting a candidate and everything about them."""
    context = _candidate_context(session, principal, assessment_id, candidate_id)
    return render(request, "hiring/delete.html", context)


@router.post("/assessments/{assessment_id}/candidates/{candidate_id}/delete")
def delete(
    assessment_id: str, candidate_id: str, services: ServicesDep, principal: Eraser
) -> Response:
    """Delete the candidate: invitations, submissions, runs, reports, scorecards, decisions."""
    with unit_of_work(services.factory) as session:
        get_assessment(session=session, principal=principal, assessment_id=assessment_id)
        delete_candidate(
            session=session, principal=principal, blobs=services.blobs, candidate_id=candidate_id
        )
    return _see(f"/assessments/{assessment_id}", "deleted")
