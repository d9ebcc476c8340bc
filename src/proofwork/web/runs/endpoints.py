from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from proofwork.store.models import RunState
from proofwork.web.auth import Principal, require
from proofwork.web.deps import ServicesDep, SessionDep, services
from proofwork.web.pagination import Page
from proofwork.web.runs import repository, service
from proofwork.web.runs.events import event_stream
from proofwork.web.runs.schemas import RunCreate, RunOut
from proofwork.web.submissions.service import get_submission

router = APIRouter(prefix="/runs", tags=["runs"])
Reader = Annotated[Principal, Depends(require("runs:read"))]
Writer = Annotated[Principal, Depends(require("runs:write"))]


@router.post("", status_code=201)
def create_run(
    data: RunCreate, session: SessionDep, principal: Writer, services: ServicesDep
) -> RunOut:
    """Queue a run of a stored submission (optionally only some probes)."""
    submission = get_submission(
        session=session, principal=principal, submission_id=data.submission_id
    )
    run = service.enqueue_run(
        session=session, principal=principal, submission=submission, probes=data.probes
    )
    session.commit()
    services.ring([run.id])
    return service.show_run(session=session, principal=principal, run_id=run.id)


@router.get("")
async def list_runs(
    session: SessionDep,
    principal: Reader,
    state: RunState | None = None,
    submission_id: str | None = None,
    candidate_id: str | None = None,
    assessment_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[RunOut]:
    """The organisation's runs, newest first, filtered."""
    filters = {
        "state": state,
        "submission_id": submission_id,
        "candidate_id": candidate_id,
        "assessment_id": assessment_id,
    }
    rows, next_cursor = repository.listing(
        session, principal.org_id, filters, cursor=cursor, limit=limit
    )
    hidden = service.levels_hidden(session, principal, [row.id for row in rows])
    return Page(items=service.shown_all(rows, hide_levels=hidden), next_cursor=next_cursor)


@router.get("/{run_id}")
async def get_run(run_id: str, session: SessionDep, principal: Reader) -> RunOut:
    """One run: its state, phase, attempts and place in the queue."""
    return service.show_run(session=session, principal=principal, run_id=run_id)


@router.post("/{run_id}/cancel")
def cancel_run(run_id: str, session: SessionDep, principal: Writer) -> RunOut:
    """Cancel a queued run now, or a running one at its next progress event."""
    service.cancel_run(session=session, principal=principal, run_id=run_id)
    session.commit()
    return service.show_run(session=session, principal=principal, run_id=run_id)


@router.post("/{run_id}/rerun", status_code=201)
def rerun(run_id: str, session: SessionDep, principal: Writer, services: ServicesDep) -> RunOut:
    """Queue a new run of the same submission with the same probes."""
    run = service.rerun(session=session, principal=principal, run_id=run_id)
    session.commit()
    services.ring([run.id])
    return service.show_run(session=session, principal=principal, run_id=run.id)


@router.get("/{run_id}/report", responses={200: {"content": {"application/json": {}}}})
def get_report(
    run_id: str, session: SessionDep, principal: Reader, services: ServicesDep
) -> Response:
    """The run's report (`proofwork.report/1` JSON); 409 until the run is done."""
    data = service.report_blob(
        session=session, principal=principal, blobs=services.blobs, run_id=run_id, html=False
    )
    return Response(data, media_type="application/json")


@router.get("/{run_id}/report.html", response_class=HTMLResponse)
def get_report_html(
    run_id: str, session: SessionDep, principal: Reader, services: ServicesDep
) -> HTMLResponse:
    """The run's self-contained HTML report; 409 until the run is done."""
    data = service.report_blob(
        session=session, principal=principal, blobs=services.blobs, run_id=run_id, html=True
    )
    return HTMLResponse(data)


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)
def run_events(
    run_id: str,
    request: Request,
    session: SessionDep,
    principal: Reader,
    wait_s: Annotated[float, Query(ge=0, le=600, description="Follow for at most this long")] = 60,
    last_event_id: Annotated[int, Header(ge=0)] = 0,
) -> StreamingResponse:
    """The run's progress as server-sent events; ends when the run ends (or after wait_s)."""
    service.get_run(session=session, principal=principal, run_id=run_id)
    session.close()  # the stream may last minutes: hold no connection or lock meanwhile
    factory = services(request).factory
    return StreamingResponse(
        event_stream(factory, run_id, last_event_id, wait_s), media_type="text/event-stream"
    )
