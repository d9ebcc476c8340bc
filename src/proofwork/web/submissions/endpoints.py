from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from proofwork.store.models import Submission
from proofwork.web.auth import Principal, require
from proofwork.web.deps import ServicesDep, SessionDep
from proofwork.web.runs.service import describe, get_run
from proofwork.web.submissions import service
from proofwork.web.submissions.schemas import UPLOAD_BODY, SubmissionCreated, SubmissionOut
from proofwork.web.submissions.upload import read_upload

router = APIRouter(prefix="/submissions", tags=["submissions"])
Uploader = Annotated[Principal, Depends(require("submissions:create"))]
Reader = Annotated[Principal, Depends(require("submissions:read"))]


def _out(submission: Submission) -> SubmissionOut:
    return SubmissionOut(
        id=submission.id,
        sha256=submission.sha256,
        size=submission.size,
        origin=submission.origin,
        candidate_id=submission.candidate_id,
        assessment_id=submission.assessment_id,
        invitation_id=submission.invitation_id,
        created_at=submission.created_at,
    )


@router.post("", status_code=201, openapi_extra={"requestBody": UPLOAD_BODY})
async def create_submission(
    request: Request, session: SessionDep, principal: Uploader, services: ServicesDep
) -> SubmissionCreated:
    """Upload a repository archive (streamed; refused past PROOFWORK_MAX_BYTES with 413, or
    with the intake's reason); its run is queued. An invitation's token uploads for that
    invitation only."""
    length = request.headers.get("content-length")
    upload = await read_upload(
        request.headers.get("content-type", ""),
        request.stream(),
        int(length) if length and length.isdigit() else None,
        services.settings.max_bytes,
    )

    def store() -> SubmissionCreated:
        with upload.file:
            submission, run = service.create_submission(
                session=session,
                principal=principal,
                settings=services.settings,
                blobs=services.blobs,
                upload=upload,
            )
            session.commit()
        services.ring([run.id])
        row = get_run(session=session, principal=principal, run_id=run.id)
        return SubmissionCreated(**_out(submission).model_dump(), run=describe(session, row))

    return await run_in_threadpool(store)


@router.get("/{submission_id}")
def get_submission(submission_id: str, session: SessionDep, principal: Reader) -> SubmissionOut:
    """One submission."""
    return _out(
        service.get_submission(session=session, principal=principal, submission_id=submission_id)
    )
