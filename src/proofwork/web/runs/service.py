from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Row
from sqlalchemy.orm import Session

from proofwork.jobs import queue
from proofwork.probes import default_registry
from proofwork.store.blobs import BlobStore
from proofwork.store.models import Assessment, Run, RunState, Submission
from proofwork.web import audit
from proofwork.web.auth import Principal
from proofwork.web.errors import ApiError, not_found
from proofwork.web.reviews import blind
from proofwork.web.runs import repository
from proofwork.web.runs.repository import RunRow
from proofwork.web.runs.schemas import RunOut

# A service challenge runs the candidate's service and the harness: a core each.
SERVICE_CORES, GENERIC_CORES = 2, 1


def check_probes(probes: list[str] | None) -> list[str] | None:
    """The probe names if every one exists; 422 naming the unknown ones otherwise."""
    if probes is None:
        return None
    known = set(default_registry().names())
    unknown = sorted(set(probes) - known)
    if unknown:
        raise ApiError(422, f"unknown probes {unknown}; known: {sorted(known)}", "unknown_probe")
    return probes


def enqueue_run(
    *, session: Session, principal: Principal, submission: Submission, probes: list[str] | None
) -> Run:
    """A queued run of the submission against its assessment's pack (or generic)."""
    challenge = None
    if submission.assessment_id is not None:
        challenge = session.get_one(Assessment, submission.assessment_id).pack_id
    run = queue.enqueue(
        session,
        org_id=principal.org_id,
        submission_id=submission.id,
        challenge=challenge,
        probes=check_probes(probes),
        cores=SERVICE_CORES if challenge else GENERIC_CORES,
    )
    audit.record(session, principal, "create", "run", run.id)
    return run


def get_run(*, session: Session, principal: Principal, run_id: str) -> RunRow:
    """The caller's organisation's run; 404 for anything else."""
    found = repository.get(session, principal.org_id, run_id)
    if found is None:
        raise not_found("run")
    return found


def levels_hidden(session: Session, principal: Principal, run_ids: list[str]) -> set[str]:
    """Those runs whose machine levels the caller may not see yet (blind review)."""
    if not blind.scores_blind(principal):
        return set()
    return set(run_ids) - blind.submitted_run_ids(session, principal.user_id, run_ids)


_RUNS = TypeAdapter(list[RunOut])


def shown_all(
    rows: Sequence[Row[*tuple[Any, ...]]], *, hide_levels: Container[str] = ()
) -> list[RunOut]:
    """Rows of `repository.views` as the API shows them (never the candidate's name: the
    alias); the summaries of the runs in `hide_levels` leave out the machine signals, for a
    reviewer who has not scored them yet."""
    if not rows:
        return []
    # The rows of one result share their keys: zipped with them, a page of 50 costs a third
    # of what each row's `_mapping` did, and the list is validated in one call.
    keys = rows[0]._fields
    values = [dict(zip(keys, row, strict=True)) for row in rows]
    for value in values:
        if value["id"] in hide_levels:
            value["summary"] = blind.human_signals_only(value["summary"])
    return _RUNS.validate_python(values)


def shown(row: Row[*tuple[Any, ...]], *, hide_levels: bool = False) -> RunOut:
    """A row of `repository.views` as the API shows it (see `shown_all`)."""
    return shown_all([row], hide_levels={row.id} if hide_levels else ())[0]


def show_run(*, session: Session, principal: Principal, run_id: str) -> RunOut:
    """The caller's organisation's run as shown to the caller; 404 for anything else."""
    row = repository.view(session, principal.org_id, run_id)
    if row is None:
        raise not_found("run")
    return shown(row, hide_levels=bool(levels_hidden(session, principal, [run_id])))


def describe(session: Session, row: RunRow, *, hide_levels: bool = False) -> RunOut:
    """A loaded run as the API shows it."""
    found = repository.view(session, row[0].org_id, row[0].id)
    assert found is not None  # noqa: S101 - the caller just loaded it in this session
    return shown(found, hide_levels=hide_levels)


def cancel_run(*, session: Session, principal: Principal, run_id: str) -> RunRow:
    """Cancel a queued run, or ask a running one to stop; 409 when it already ended."""
    run, _, _ = get_run(session=session, principal=principal, run_id=run_id)
    if run.state.finished:
        raise ApiError(409, f"the run is already {run.state}")
    queue.cancel(session, run.id)
    audit.record(session, principal, "cancel", "run", run.id)
    session.expire_all()
    return get_run(session=session, principal=principal, run_id=run_id)


def rerun(*, session: Session, principal: Principal, run_id: str) -> Run:
    """A new queued run of the same submission with the same probes."""
    run, submission, _ = get_run(session=session, principal=principal, run_id=run_id)
    return enqueue_run(
        session=session, principal=principal, submission=submission, probes=run.probes
    )


def report_blob(
    *, session: Session, principal: Principal, blobs: BlobStore, run_id: str, html: bool
) -> bytes:
    """The run's report (JSON or HTML); 409 until the run is done. A blind reviewer gets it
    once their scorecard on the run is submitted (it shows the machine levels), with the
    candidate's name and e-mail replaced by the alias wherever the candidate wrote them."""
    run, _, candidate = get_run(session=session, principal=principal, run_id=run_id)
    sha = run.html_sha256 if html else run.report_sha256
    if run.state != RunState.DONE or sha is None:
        raise ApiError(409, f"the run is {run.state}; its report exists once it is done")
    if levels_hidden(session, principal, [run.id]):
        raise ApiError(
            403,
            "blind review: the report shows the machine levels; submit your scorecard on this "
            "run first (PUT /api/v1/runs/{run_id}/scorecards/mine with submit)",
        )
    data = blobs.read(session, sha)
    return blind.redactor(candidate).data(data) if principal.blind else data
