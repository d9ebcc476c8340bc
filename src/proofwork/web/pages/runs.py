"""Staff run pages: the run with its report inside the app, live progress, re-run, cancel, PDF.

The report is a self-contained page with inline styles and one hashed script, so it is served
on a route of its own with a CSP fit for it, framed by the run page in a sandboxed iframe (an
opaque origin: nothing in it can reach the app); the app's pages keep their strict CSP.
Blind review holds here as in the API: a reviewer reaches the report (which shows the machine
levels) only after submitting their own scorecard, with the candidate's name redacted.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from proofwork.reports.html import PAGE_SCRIPT
from proofwork.reports.pdf import PdfError, html_to_pdf
from proofwork.store.database import read_only, unit_of_work
from proofwork.web.auth import PERMISSIONS, Principal
from proofwork.web.deps import services
from proofwork.web.errors import ApiError
from proofwork.web.pages.session import require_page
from proofwork.web.pages.templating import render
from proofwork.web.runs import repository, service
from proofwork.web.runs.events import event_stream, run_state

router = APIRouter()
Reader = Annotated[Principal, Depends(require_page("runs:read"))]
Writer = Annotated[Principal, Depends(require_page("runs:write"))]
EVENTS_WAIT_S = 600
_SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(PAGE_SCRIPT.encode()).digest()).decode()
REPORT_CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'unsafe-inline'",
        f"script-src '{_SCRIPT_HASH}'",
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-scripts",
    ]
)
REPORT_HEADERS = {"Content-Security-Policy": REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"}
PDF_CACHE = 16
_pdfs: OrderedDict[str, bytes] = OrderedDict()
_pdf_lock = threading.Lock()


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, principal: Reader) -> Response:
    """The run: its state, live progress, the report once done, re-run and cancel."""
    with read_only(services(request).read_factory) as session:
        run = service.show_run(session=session, principal=principal, run_id=run_id)
        row = service.get_run(session=session, principal=principal, run_id=run_id)
        events = repository.events(session, run_id, 0)
        state = run_state(row[0], session)
        hidden = bool(service.levels_hidden(session, principal, [run_id]))
    context = {
        "run": run,
        "events": events,
        "state": state,
        "report_hidden": hidden,
        "can_write": principal.role in PERMISSIONS["runs:write"],
    }
    return render(request, "runs/run.html", context)


def _report(request: Request, principal: Principal, run_id: str) -> tuple[bytes, str]:
    with read_only(services(request).read_factory) as session:
        data = service.report_blob(
            session=session, principal=principal, blobs=services(request).blobs,
            run_id=run_id, html=True,
        )  # fmt: skip
    return data, hashlib.sha256(data).hexdigest()


@router.get("/runs/{run_id}/report")
def run_report(request: Request, run_id: str, principal: Reader) -> Response:
    """The run's HTML report as it is, under its own CSP (framed by the run page)."""
    data, _ = _report(request, principal, run_id)
    return Response(data, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)


@router.get("/runs/{run_id}/report.pdf")
async def run_report_pdf(request: Request, run_id: str, principal: Reader) -> Response:
    """The report printed to PDF by chromium (kept for the last few reports printed)."""
    data, digest = await run_in_threadpool(_report, request, principal, run_id)
    pdf = await run_in_threadpool(_printed, data, digest)
    disposition = f'attachment; filename="proofwork-run-{run_id[:12]}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


def _printed(html: bytes, digest: str) -> bytes:
    with _pdf_lock:
        if digest in _pdfs:
            _pdfs.move_to_end(digest)
            return _pdfs[digest]
    try:
        pdf = html_to_pdf(html)
    except PdfError as exc:
        raise ApiError(503, f"the PDF could not be made: {exc}") from exc
    with _pdf_lock:
        _pdfs[digest] = pdf
        while len(_pdfs) > PDF_CACHE:
            _pdfs.popitem(last=False)
    return pdf


@router.get("/runs/{run_id}/events")
def run_events_page(
    request: Request,
    run_id: str,
    principal: Reader,
    last_event_id: Annotated[int, Header(ge=0)] = 0,
) -> Response:
    """The run's events and state as server-sent events, for the run page."""
    with read_only(services(request).read_factory) as session:
        service.get_run(session=session, principal=principal, run_id=run_id)
    stream = event_stream(
        services(request).factory, run_id, last_event_id, EVENTS_WAIT_S, with_state=True
    )
    return StreamingResponse(stream, media_type="text/event-stream")


@router.post("/runs/{run_id}/rerun")
def run_rerun(request: Request, run_id: str, principal: Writer) -> Response:
    """Queue a new run of the same submission; go to it."""
    found = services(request)
    with unit_of_work(found.factory) as session:
        run = service.rerun(session=session, principal=principal, run_id=run_id)
        new_id = run.id
    found.ring([new_id])
    return RedirectResponse(f"/runs/{new_id}", status_code=303)


@router.post("/runs/{run_id}/cancel")
def run_cancel(request: Request, run_id: str, principal: Writer) -> Response:
    """Cancel the run (a running one stops at its next step)."""
    with unit_of_work(services(request).factory) as session:
        service.cancel_run(session=session, principal=principal, run_id=run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)
