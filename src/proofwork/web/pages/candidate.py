"""The candidate's pages under `/i/{token}/`: no account, the invitation's link is the key.

Welcome (what is graded and how, the time box, the deadline), the brief, the kit's downloads,
the upload form (and the git remote), the run's live status, and the feedback when the hiring
team shares it. Handlers parse, call the portal's service, render.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from proofwork.challenges import Pack
from proofwork.store.database import read_only, unit_of_work
from proofwork.web.deps import services
from proofwork.web.errors import ApiError
from proofwork.web.markdown import render_markdown
from proofwork.web.pages.templating import render
from proofwork.web.portal import kit
from proofwork.web.portal.git_http import status_url
from proofwork.web.portal.service import (
    Portal,
    check_can_submit,
    feedback_for,
    latest_run,
    mark_opened,
    open_portal,
    pack_of,
    planned_probes,
    probes_for,
    progress,
    receive_submission,
    signals_for,
)
from proofwork.web.runs import repository as run_events
from proofwork.web.runs.events import event_stream, run_state
from proofwork.web.submissions.upload import read_upload

router = APIRouter()
STATUS_WAIT_S = 600
MiB = 1024 * 1024


def _portal(request: Request, token: str) -> tuple[Portal, Pack | None]:
    with read_only(services(request).read_factory) as session:
        portal = open_portal(session, token)
        session.expunge_all()
    return portal, pack_of(portal.assessment, services(request).settings)


def _context(request: Request, token: str, portal: Portal, **extra: Any) -> dict[str, Any]:
    base = f"/i/{token}"
    return {
        "portal": portal,
        "base": base,
        "remote": f"{request.base_url}i/{token}/repo.git",
        "max_size": _size(services(request).settings.max_bytes),
        "time_box": _duration(portal.assessment.time_box_minutes),
        "deadline": f"{portal.invitation.expires_at:%A %d %B %Y, %H:%M} UTC",
        **extra,
    }


def _size(limit: int) -> str:
    return f"{limit / MiB:g} MiB" if limit >= MiB else f"{limit / 1024:g} KiB"


def _duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minutes"


@router.get("/i/{token}")
def candidate_root(request: Request, token: str) -> Response:
    """The link without its trailing slash (checked first, like every other)."""
    _portal(request, token)
    return RedirectResponse(f"/i/{token}/", status_code=307)


@router.get("/i/{token}/")
def candidate_welcome(request: Request, token: str) -> Response:
    """What the work sample is, what is graded and how, the time box and the deadline."""
    portal, pack = _portal(request, token)
    if portal.invitation.opened_at is None:  # a write only the first time
        with unit_of_work(services(request).factory) as session:
            mark_opened(session, portal.invitation.id)
    context = _context(
        request,
        token,
        portal,
        pack=pack,
        summary=pack.spec.summary.strip() if pack else "",
        probes=probes_for(pack),
        signals=signals_for(pack),
    )
    return render(request, "candidate/welcome.html", context)


@router.get("/i/{token}/brief")
def candidate_brief(request: Request, token: str) -> Response:
    """The pack's brief, from markdown, with any HTML in it shown as text."""
    portal, pack = _portal(request, token)
    if pack is None:
        raise ApiError(404, "this assessment has no brief: the invitation e-mail says what to do")
    brief = render_markdown(pack.brief)
    return render(request, "candidate/brief.html", _context(request, token, portal, brief=brief))


def _download(request: Request, token: str, what: str) -> Response:
    _, pack = _portal(request, token)
    if pack is None:
        raise ApiError(404, "this assessment has no kit to download")
    if what == "kit":
        data, name, kind = kit.kit_zip(pack), kit.download_name(pack, "kit.zip"), "application/zip"
    else:
        data, name = kit.starter_bundle(pack), kit.download_name(pack, "starter.bundle")
        kind = "application/octet-stream"
    disposition = f'attachment; filename="{name}"'
    return Response(data, media_type=kind, headers={"Content-Disposition": disposition})


@router.get("/i/{token}/kit.zip")
def candidate_kit(request: Request, token: str) -> Response:
    """The kit: brief, contract, README and the starter repository, as a zip."""
    return _download(request, token, "kit")


@router.get("/i/{token}/starter.bundle")
def candidate_starter(request: Request, token: str) -> Response:
    """The starter repository as a git bundle."""
    return _download(request, token, "starter")


@router.get("/i/{token}/submit")
def candidate_submit_page(request: Request, token: str) -> Response:
    """The upload form (and how to push with git instead)."""
    portal, _ = _portal(request, token)
    return render(request, "candidate/submit.html", _context(request, token, portal))


@router.post("/i/{token}/submit")
async def candidate_submit(request: Request, token: str) -> Response:
    """Receive the upload (streamed, capped), queue its run, mail the candidate."""
    portal, _ = await run_in_threadpool(_portal, request, token)
    check_can_submit(portal)
    settings = services(request).settings
    length = request.headers.get("content-length")
    try:
        upload = await read_upload(
            request.headers.get("content-type", ""),
            request.stream(),
            int(length) if length and length.isdigit() else None,
            settings.max_bytes,
        )
    except ApiError as exc:
        return _form_problem(request, token, portal, exc)
    if not upload.filename:
        upload.file.close()
        problem = ApiError(422, "choose the file to send: a .zip, .tar.gz or git bundle")
        return _form_problem(request, token, portal, problem)
    url = status_url(request, token)

    def store() -> None:
        with upload.file:
            receive_submission(services(request), token, upload, status_url=url)

    try:
        await run_in_threadpool(store)
    except ApiError as exc:
        if exc.status in (409, 410):
            raise
        return _form_problem(request, token, portal, exc)
    return RedirectResponse(f"/i/{token}/status", status_code=303)


def _form_problem(request: Request, token: str, portal: Portal, problem: ApiError) -> Response:
    message = problem.message
    if problem.status == 413:
        limit = _size(services(request).settings.max_bytes)
        message = (
            f"The file is larger than the {limit} allowed. Leave out virtual environments, data "
            "and build output, or send a git bundle of your branch only."
        )
    context = _context(request, token, portal, problem=message)
    return render(request, "candidate/submit.html", context, status_code=problem.status)


@router.get("/i/{token}/status")
def candidate_status(request: Request, token: str) -> Response:
    """Where the submission stands: queued (how many ahead), each probe as it runs, done."""
    portal, pack = _portal(request, token)
    run, steps, state = None, [], None
    with read_only(services(request).read_factory) as session:
        found = latest_run(session, portal.invitation.id)
        if found is not None:
            run = found[1]
            events = run_events.events(session, run.id, 0)
            steps = progress(planned_probes(pack) if run.probes is None else run.probes, events)
            state = run_state(run, session)
    context = _context(request, token, portal, run=run, steps=steps, state=state)
    return render(request, "candidate/status.html", context)


@router.get("/i/{token}/events")
def candidate_events(
    request: Request,
    token: str,
    last_event_id: Annotated[int, Header(ge=0)] = 0,
) -> Response:
    """The run's progress as server-sent events (probe names and the run's state only)."""
    portal, _ = _portal(request, token)
    with read_only(services(request).read_factory) as session:
        found = latest_run(session, portal.invitation.id)
    if found is None:
        raise ApiError(404, "nothing was submitted yet, so there is nothing to follow")
    stream = event_stream(
        services(request).factory, found[1].id, last_event_id, STATUS_WAIT_S, with_state=True,
        public=True,
    )  # fmt: skip
    return StreamingResponse(stream, media_type="text/event-stream")


@router.get("/i/{token}/feedback")
def candidate_feedback_page(request: Request, token: str) -> Response:
    """The signals with their evidence and the findings, if the assessment shares them."""
    portal, _ = _portal(request, token)
    found = services(request)
    with read_only(found.read_factory) as session:
        feedback = feedback_for(session, found.blobs, portal)
    context = _context(request, token, portal, feedback=feedback)
    return render(request, "candidate/feedback.html", context)
