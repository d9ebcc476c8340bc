"""The run queue's state changes, each one conditional UPDATE so racing workers stay correct.

The store is the source of truth: a run is claimed by the worker whose UPDATE flipped it from
queued to running, owned while its (worker, attempt) pair is the row's, and finished once. A
worker that lost its run (it was reclaimed after its heartbeat went stale) matches no row and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, func, select, update
from sqlalchemy.orm import Session

from proofwork.store.models import Run, RunEvent, RunState, utcnow


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a run: valid while the row still names this worker and attempt."""

    run_id: str
    worker: str
    attempt: int


def _changed(result: object) -> int:
    # An UPDATE's result is a CursorResult; its rowcount is how many rows matched.
    return result.rowcount if isinstance(result, CursorResult) else 0


def _owned(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    return (
        Run.id == claim.run_id,
        Run.state == RunState.RUNNING,
        Run.worker == claim.worker,
        Run.attempts == claim.attempt,
    )


def enqueue(
    session: Session,
    *,
    org_id: str,
    submission_id: str,
    challenge: str | None,
    probes: list[str] | None,
    cores: int,
) -> Run:
    """A new queued run."""
    run = Run(
        org_id=org_id,
        submission_id=submission_id,
        challenge=challenge,
        probes=probes,
        cores=cores,
        state=RunState.QUEUED,
    )
    session.add(run)
    session.flush()
    return run


def _claimed(worker: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "state": RunState.RUNNING,
        "worker": worker,
        "attempts": Run.attempts + 1,
        "heartbeat_at": now,
        "started_at": now,
        "phase": "claimed",
    }


def claim_next(session: Session, *, worker: str, free_cores: int) -> Claim | None:
    """Take the oldest queued run that fits in `free_cores`, or None when there is none."""
    for _ in range(5):  # another worker may take the row we picked; pick again
        candidate = session.execute(
            select(Run.id, Run.attempts)
            .where(Run.state == RunState.QUEUED, Run.cores <= free_cores)
            .order_by(Run.queued_at, Run.id)
            .limit(1)
        ).first()
        if candidate is None:
            return None
        taken = session.execute(
            update(Run)
            .where(Run.id == candidate.id, Run.state == RunState.QUEUED)
            .values(**_claimed(worker))
        )
        if _changed(taken):
            return Claim(candidate.id, worker, candidate.attempts + 1)
    return None


def heartbeat(session: Session, claim: Claim, phase: str | None = None) -> bool:
    """Say the claim's worker is alive; False when the run is no longer ours."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if phase is not None:
        values["phase"] = phase
    return bool(_changed(session.execute(update(Run).where(*_owned(claim)).values(**values))))


def record_event(session: Session, claim: Claim, kind: str, name: str, message: str = "") -> bool:
    """Append a progress event (and heartbeat); False when the run is no longer ours."""
    if not heartbeat(session, claim, phase=name if kind in ("phase", "probe-start") else None):
        return False
    session.add(
        RunEvent(run_id=claim.run_id, attempt=claim.attempt, kind=kind, name=name, message=message)
    )
    session.flush()
    return True


def cancel_requested(session: Session, claim: Claim) -> bool:
    """Whether someone asked to cancel the claimed run."""
    return bool(session.scalar(select(Run.cancel_requested).where(Run.id == claim.run_id)))


def finish(
    session: Session,
    claim: Claim,
    state: RunState,
    *,
    reason: str = "",
    report_sha256: str | None = None,
    html_sha256: str | None = None,
    summary: dict[str, Any] | None = None,
) -> bool:
    """End the run once: only the worker holding the current claim can; False otherwise."""
    result = session.execute(
        update(Run)
        .where(*_owned(claim), Run.report_sha256.is_(None))
        .values(
            state=state,
            reason=reason,
            report_sha256=report_sha256,
            html_sha256=html_sha256,
            summary=summary,
            levels=signal_levels(summary),
            finished_at=utcnow(),
            phase=state.value,
        )
    )
    return bool(_changed(result))


def signal_levels(summary: dict[str, Any] | None) -> dict[str, Any] | None:
    """Each signal's level in a run's summary ({name: level or null}), None without signals."""
    if not summary or not summary.get("signals"):
        return None
    return {s["name"]: s.get("level") for s in summary["signals"] if isinstance(s, dict)}


def release(session: Session, claim: Claim) -> bool:
    """Put a run this worker holds back in the queue (a clean shutdown); False if not ours."""
    result = session.execute(
        update(Run)
        .where(*_owned(claim))
        .values(state=RunState.QUEUED, worker=None, queued_at=utcnow(), phase="requeued")
    )
    return bool(_changed(result))


def reclaim_stale(session: Session, *, stale_after_s: float, max_attempts: int) -> list[str]:
    """Requeue running runs whose heartbeat went stale, or fail those out of attempts; the ids
    of the runs changed."""
    cutoff = utcnow() - dt.timedelta(seconds=stale_after_s)
    stale = (Run.state == RunState.RUNNING, Run.heartbeat_at < cutoff)
    failed = session.scalars(
        update(Run)
        .where(*stale, Run.attempts >= max_attempts)
        .values(
            state=RunState.FAILED,
            finished_at=utcnow(),
            phase="failed",
            reason=(
                f"the worker running it stopped (no heartbeat for {stale_after_s:g} s) "
                f"{max_attempts} times; not retried again"
            ),
        )
        .returning(Run.id)
    ).all()
    requeued = session.scalars(
        update(Run)
        .where(*stale, Run.attempts < max_attempts)
        .values(state=RunState.QUEUED, worker=None, queued_at=utcnow(), phase="requeued")
        .returning(Run.id)
    ).all()
    return [*failed, *requeued]


def claim_run(session: Session, run_id: str, *, worker: str) -> Claim | None:
    """Claim this run if it is still queued (a message named it), else None."""
    attempts = session.scalar(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.QUEUED)
        .values(**_claimed(worker))
        .returning(Run.attempts)
    )
    return None if attempts is None else Claim(run_id, worker, attempts)


def mark_rung(session: Session, run_ids: list[str]) -> None:
    """Note that a message was sent for these runs now."""
    session.execute(update(Run).where(Run.id.in_(run_ids)).values(dispatched_at=utcnow()))


def unrung(session: Session, *, older_than_s: float) -> list[str]:
    """Queued runs no message was sent for in `older_than_s` (marked as rung now)."""
    cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
    due = (Run.dispatched_at.is_(None)) | (Run.dispatched_at < cutoff)
    return list(
        session.scalars(
            update(Run)
            .where(Run.state == RunState.QUEUED, due)
            .values(dispatched_at=utcnow())
            .returning(Run.id)
        )
    )


def cancel(session: Session, run_id: str) -> RunState | None:
    """Cancel a queued run now, or ask its worker to stop a running one; the state after."""
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.QUEUED)
        .values(state=RunState.CANCELLED, finished_at=utcnow(), phase="cancelled")
    )
    session.execute(
        update(Run)
        .where(Run.id == run_id, Run.state == RunState.RUNNING)
        .values(cancel_requested=True)
    )
    return session.scalar(select(Run.state).where(Run.id == run_id))


def queue_position(session: Session, run: Run) -> int | None:
    """How many queued runs are ahead of this one (None unless it is queued)."""
    if run.state != RunState.QUEUED:
        return None
    ahead = select(func.count()).where(Run.state == RunState.QUEUED, Run.queued_at < run.queued_at)
    return session.scalar(ahead) or 0
