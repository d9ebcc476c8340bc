from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from proofwork import intake
from proofwork.config import Settings
from proofwork.store.blobs import CHUNK, BlobStore
from proofwork.store.models import Invitation, InvitationState, Run, Submission
from proofwork.web import audit
from proofwork.web.assessments.service import get_assessment
from proofwork.web.auth import CANDIDATE, Principal
from proofwork.web.candidates.service import get_candidate
from proofwork.web.errors import ApiError, not_found
from proofwork.web.runs.service import check_probes, enqueue_run
from proofwork.web.submissions import repository
from proofwork.web.submissions.upload import Upload


def get_submission(*, session: Session, principal: Principal, submission_id: str) -> Submission:
    """The caller's organisation's submission; 404 for anything else."""
    found = repository.get(session, principal.org_id, submission_id)
    if found is None:
        raise not_found("submission")
    return found


def check_archive(file: IO[bytes], settings: Settings) -> None:
    """Unpack into a scratch folder with the intake's caps; 422 with its reason if refused."""
    caps = intake.IntakeCaps(
        max_bytes=settings.max_bytes,
        max_files=settings.max_files,
        max_file_bytes=settings.max_file_bytes,
        max_depth=settings.max_depth,
    )
    scratch = Path(tempfile.mkdtemp(prefix="pw-upload-"))
    try:
        archive = scratch / "archive"
        with archive.open("wb") as sink:
            shutil.copyfileobj(file, sink, CHUNK)
        if archive.stat().st_size == 0:
            raise ApiError(422, "the file is empty: send a .zip, .tar.gz or git bundle", "refused")
        try:
            intake.ingest(archive, scratch / "tree", caps)
        except intake.IntakeError as exc:
            raise ApiError(422, str(exc), "refused") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        file.seek(0)


def _chunks(file: IO[bytes]) -> Iterator[bytes]:
    while chunk := file.read(CHUNK):
        yield chunk


def _target(
    session: Session, principal: Principal, fields: dict[str, str]
) -> tuple[str | None, str | None, Invitation | None]:
    """(candidate, assessment, invitation) the upload is for; a candidate's token decides."""
    if principal.role == CANDIDATE:
        invitation = session.get_one(Invitation, principal.invitation_id)
        for name in ("candidate_id", "assessment_id"):
            if fields.get(name) not in (None, "", getattr(invitation, name)):
                raise not_found(name.removesuffix("_id"))
        return invitation.candidate_id, invitation.assessment_id, invitation
    candidate_id = fields.get("candidate_id") or None
    assessment_id = fields.get("assessment_id") or None
    if candidate_id:
        get_candidate(session=session, principal=principal, candidate_id=candidate_id)
    if assessment_id:
        get_assessment(session=session, principal=principal, assessment_id=assessment_id)
    return candidate_id, assessment_id, None


def create_submission(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    blobs: BlobStore,
    upload: Upload,
) -> tuple[Submission, Run]:
    """Check the archive, store it as a blob, record the submission and queue its run."""
    candidate_id, assessment_id, invitation = _target(session, principal, upload.fields)
    probes = [p.strip() for p in upload.fields.get("probes", "").split(",") if p.strip()]
    check_probes(probes or None)
    check_archive(upload.file, settings)
    blob = blobs.put(session, _chunks(upload.file), limit=settings.max_bytes)
    submission = Submission(
        org_id=principal.org_id,
        candidate_id=candidate_id,
        assessment_id=assessment_id,
        invitation_id=invitation.id if invitation else None,
        sha256=blob.sha256,
        size=blob.size,
        filename=upload.filename,
        origin="invitation" if invitation else "upload",
    )
    session.add(submission)
    session.flush()
    if invitation is not None:
        invitation.state = InvitationState.SUBMITTED
    audit.record(session, principal, "create", "submission", submission.id)
    run = enqueue_run(
        session=session, principal=principal, submission=submission, probes=probes or None
    )
    return submission, run
