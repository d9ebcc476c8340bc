"""Executing one claimed run: the single function every backend (embedded, Celery) calls.

Load the submission's blob, call the engine's `grade` with a listener that records progress,
store the JSON and HTML report as blobs, and end the run once. The engine knows nothing of
this: it only sees a GradeRequest and a listener.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proofwork import engine
from proofwork.config import Settings
from proofwork.evidence import Report
from proofwork.jobs import queue, similarity
from proofwork.jobs.queue import Claim
from proofwork.reports.html import render_html
from proofwork.sandbox import Sandbox, SandboxError
from proofwork.store.blobs import BlobStore
from proofwork.store.database import read_only, unit_of_work
from proofwork.store.models import Run, RunState, Submission
from proofwork.webhooks import outbox

log = logging.getLogger(__name__)


class RunLost(Exception):
    """Another worker holds the run now (ours was reclaimed); stop and write nothing."""


class RunCancelled(Exception):
    """Someone cancelled the run while it was grading."""


class _Watch:
    """Records the engine's events and heartbeats between them, from a thread of its own; when
    the run is cancelled it aborts the run's sandbox at once (its processes killed), so the
    grade stops within about a second, not at its next progress event."""

    CANCEL_POLL_S = 1.0

    def __init__(self, factory: sessionmaker[Session], claim: Claim, every_s: float) -> None:
        self.factory, self.claim, self.every_s = factory, claim, every_s
        self.lost = self.cancelled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")
        self._lock = threading.Lock()
        self._sandbox: Sandbox | None = None

    def __enter__(self) -> _Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        last_beat = time.monotonic()
        while not self._stop.wait(min(self.CANCEL_POLL_S, self.every_s)):
            with unit_of_work(self.factory) as session:
                if time.monotonic() - last_beat >= self.every_s:
                    self.lost = self.lost or not queue.heartbeat(session, self.claim)
                    last_beat = time.monotonic()
                self.cancelled = self.cancelled or queue.cancel_requested(session, self.claim)
            if self.cancelled or self.lost:
                self._abort()

    def on_sandbox(self, sandbox: Sandbox | None) -> None:
        """The engine's sandbox hook: keep the open sandbox so a cancel can abort it."""
        with self._lock:
            self._sandbox = sandbox
        if sandbox is not None and (self.cancelled or self.lost):
            self._abort()

    def _abort(self) -> None:
        with self._lock:
            if self._sandbox is not None and not self._sandbox.aborted:
                self._sandbox.abort()

    def on_event(self, event: engine.Event) -> None:
        """The engine's listener: record the event, stop the grade if the run is not ours."""
        with unit_of_work(self.factory) as session:
            recorded = queue.record_event(
                session, self.claim, event.kind, event.name, event.message[:2000]
            )
            self.cancelled = self.cancelled or queue.cancel_requested(session, self.claim)
        if self.lost or not recorded:
            raise RunLost(self.claim.run_id)
        if self.cancelled:
            raise RunCancelled(self.claim.run_id)


WORK = "service"  # under PROOFWORK_HOME/runs: the service's runs, one folder per claim


def work_folder(settings: Settings, claim: Claim) -> Path:
    """Where a claimed run is graded: named after the run and attempt, so a restart after a
    crash knows whose it is (`sweep_work_folders`)."""
    return settings.runs_dir / WORK / f"{claim.run_id}-{claim.attempt}"


def execute(
    *, factory: sessionmaker[Session], blobs: BlobStore, settings: Settings, claim: Claim
) -> RunState | None:
    """Grade the claimed run and end it; the final state, or None when the run was lost."""
    with unit_of_work(factory) as session:
        run = session.get_one(Run, claim.run_id)
        submission = session.get_one(Submission, run.submission_id)
        archive = blobs.read(session, submission.sha256)
        challenge, probes, submission_id = run.challenge, run.probes, submission.id
    _fingerprint(factory, blobs, settings, submission_id)
    folder = work_folder(settings, claim)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    watch = _Watch(factory, claim, settings.heartbeat_s)
    try:
        # Not the uploaded file's name: it often carries the candidate's, and reviewers read
        # the report blind.
        source = folder / "submission"
        source.write_bytes(archive)
        del archive
        request = engine.GradeRequest(
            source=source,
            settings=settings,
            challenge=challenge,
            probes=probes,
            listener=watch.on_event,
            run_dir=folder / "grade",
            on_sandbox=watch.on_sandbox,
        )
        with watch:
            report = engine.grade(request)
    except RunLost:
        return None
    except RunCancelled:
        return _end(factory, claim, RunState.CANCELLED, reason=CANCELLED)
    except (engine.GradeError, SandboxError, KeyError) as exc:
        if watch.cancelled:  # a command refused by the aborted sandbox
            return _end(factory, claim, RunState.CANCELLED, reason=CANCELLED)
        reason = str(exc.args[0]) if isinstance(exc, KeyError) else str(exc)
        return _end(factory, claim, RunState.FAILED, reason=reason)
    except Exception as exc:  # noqa: BLE001 - a crash must end the run, never leave it running
        reason = f"internal error while grading: {type(exc).__name__}: {exc}"
        return _end(factory, claim, RunState.FAILED, reason=reason)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if watch.lost:
        return None
    if watch.cancelled:  # aborted during its last probe: what it reports is not a grade
        return _end(factory, claim, RunState.CANCELLED, reason=CANCELLED)
    return _store_report(factory, blobs, claim, report)


CANCELLED = "cancelled on request"


def sweep_work_folders(factory: sessionmaker[Session], settings: Settings) -> list[str]:
    """Remove the working folders of runs no worker grades now (finished, requeued, or
    reclaimed from a worker that died); the names of the folders removed.

    A folder of a run this store does not know belongs to another store sharing the same
    `PROOFWORK_HOME` (or to a run erased since): it is left alone unless untouched for longer
    than any grade lasts (`ORPHAN_AFTER_S`).
    """
    root = settings.runs_dir / WORK
    folders = {p.name: p for p in root.iterdir()} if root.is_dir() else {}
    if not folders:
        return []
    with read_only(factory) as session:
        rows = session.execute(
            select(Run.id, Run.state, Run.attempts).where(
                Run.id.in_([name.rpartition("-")[0] for name in folders])
            )
        )
        known = {run_id: (state, attempts) for run_id, state, attempts in rows}
    removed = sorted(name for name, path in folders.items() if _unused(name, path, known))
    for name in removed:
        shutil.rmtree(folders[name], ignore_errors=True)
    return removed


ORPHAN_AFTER_S = 24 * 3600


def _unused(name: str, path: Path, known: dict[str, tuple[RunState, int]]) -> bool:
    run_id, _, attempt = name.rpartition("-")
    if run_id not in known:
        try:
            return time.time() - path.stat().st_mtime > ORPHAN_AFTER_S
        except OSError:
            return False
    state, attempts = known[run_id]
    return not (state == RunState.RUNNING and attempt == str(attempts))


def _fingerprint(
    factory: sessionmaker[Session], blobs: BlobStore, settings: Settings, submission_id: str
) -> None:
    # Copied work is found beside the grade, never instead of it: a failure here is logged.
    try:
        similarity.fingerprint_submission(
            factory=factory, blobs=blobs, settings=settings, submission_id=submission_id
        )
    except Exception:  # an archive the intake refuses fails the grade itself, saying why
        log.exception("fingerprinting submission %s failed", submission_id)


def _end(
    factory: sessionmaker[Session], claim: Claim, state: RunState, *, reason: str
) -> RunState | None:
    with unit_of_work(factory) as session:
        if not queue.finish(session, claim, state, reason=reason):
            return None
        if state == RunState.FAILED:
            _announce(session, claim, "run.failed")
        return state


def _store_report(
    factory: sessionmaker[Session], blobs: BlobStore, claim: Claim, report: Report
) -> RunState | None:
    """Store the report's blobs and end the run in one transaction (or neither)."""
    document = json.dumps(report.to_json(), indent=2, ensure_ascii=False, allow_nan=False)
    html = render_html(report)
    try:
        with unit_of_work(factory) as session:
            report_blob = blobs.put(session, [document.encode("utf-8", "backslashreplace")])
            html_blob = blobs.put(session, [html.encode("utf-8", "backslashreplace")])
            summary = {"submission_sha256": report.submission.sha256, "signals": report.signals}
            if not queue.finish(
                session,
                claim,
                RunState.DONE,
                report_sha256=report_blob.sha256,
                html_sha256=html_blob.sha256,
                summary=summary,
            ):
                raise RunLost(claim.run_id)  # rolls the blobs back: a late duplicate writes nothing
            _announce(session, claim, "run.completed")
    except RunLost:
        return None
    return RunState.DONE


def _announce(session: Session, claim: Claim, event_type: str) -> None:
    """Queue the run's webhook event in the transaction that ended it."""
    run = session.get_one(Run, claim.run_id)
    data = {
        "run_id": run.id,
        "submission_id": run.submission_id,
        "state": run.state.value,
        "reason": run.reason,
        "summary": run.summary,
    }
    outbox.emit(session, run.org_id, event_type, data)
