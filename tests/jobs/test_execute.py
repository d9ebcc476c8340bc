"""Executing runs for real: the engine grades the stored archive, the report is stored once."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from databases import Store
from jobs_support import Enqueue, comparable, run_row, tiny_archive
from sqlalchemy import select

from proofwork import engine
from proofwork.config import Settings, load_settings
from proofwork.jobs import queue
from proofwork.jobs.embedded import EmbeddedWorkers
from proofwork.jobs.execute import ORPHAN_AFTER_S, execute, sweep_work_folders, work_folder
from proofwork.store.database import unit_of_work
from proofwork.store.models import RunEvent, RunState

pytestmark = pytest.mark.slow
# The queue's SQL runs on both backends in test_queue.py; these grade for real, so once is enough.
SQLITE_ONLY = pytest.mark.parametrize("fresh_store", ["sqlite"], indirect=True)


@pytest.fixture
def job_settings() -> Settings:
    return load_settings(install=False, heartbeat_s=0.2, stale_after_s=2, worker_cores=2)


def _events(store: Store, run_id: str) -> list[tuple[str, str]]:
    with unit_of_work(store.factory) as session:
        rows = session.scalars(
            select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
        )
        return [(e.kind, e.name) for e in rows]


def _wait_for(predicate: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_an_embedded_worker_grades_a_run_like_the_cli_does(
    fresh_store: Store, enqueue: Enqueue, job_settings: Settings, tmp_path: Path
) -> None:
    run_id = enqueue()
    workers = EmbeddedWorkers(
        factory=fresh_store.factory, blobs=fresh_store.blobs, settings=job_settings
    )
    assert workers.step()
    workers.join()
    run = run_row(fresh_store, run_id)
    assert run.state == RunState.DONE, run.reason
    assert run.report_sha256 and run.html_sha256 and run.finished_at
    with unit_of_work(fresh_store.factory) as session:
        stored = json.loads(fresh_store.blobs.read(session, run.report_sha256))
        html = fresh_store.blobs.read(session, run.html_sha256).decode()
    assert stored["metrics"]["tests.passed"] == 1
    assert "<html" in html
    assert _events(fresh_store, run_id) == [
        ("phase", "intake"),
        ("phase", "runtime"),
        ("probe-start", "tests"),
        ("probe-end", "tests"),
    ]
    assert run.summary == {"submission_sha256": stored["submission"]["sha256"], "signals": []}
    archive = tmp_path / "tiny.tar.gz"
    archive.write_bytes(tiny_archive())
    direct = engine.grade(
        engine.GradeRequest(source=archive, settings=job_settings, probes=["tests"])
    )
    assert comparable(stored) == comparable(direct.to_json())


@SQLITE_ONLY
def test_a_submission_the_intake_refuses_fails_the_run_with_its_reason(
    fresh_store: Store, enqueue: Enqueue, job_settings: Settings
) -> None:
    run_id = enqueue(archive=b"not an archive at all")
    with unit_of_work(fresh_store.factory) as session:
        claim = queue.claim_next(session, worker="w", free_cores=1)
    assert claim is not None
    state = execute(
        factory=fresh_store.factory, blobs=fresh_store.blobs, settings=job_settings, claim=claim
    )
    run = run_row(fresh_store, run_id)
    assert state == run.state == RunState.FAILED
    assert run.reason.startswith("refused:")
    assert run.report_sha256 is None


@SQLITE_ONLY
def test_cancelling_a_running_run_kills_its_sandboxed_processes_within_seconds(
    fresh_store: Store, enqueue: Enqueue, job_settings: Settings
) -> None:
    run_id = enqueue(archive=tiny_archive(delay_s=120))  # its one test sleeps two minutes
    with unit_of_work(fresh_store.factory) as session:
        claim = queue.claim_next(session, worker="w", free_cores=1)
    assert claim is not None
    ended: list[RunState | None] = []
    thread = threading.Thread(
        target=lambda: ended.append(
            execute(
                factory=fresh_store.factory,
                blobs=fresh_store.blobs,
                settings=job_settings,
                claim=claim,
            )
        )
    )
    thread.start()
    _wait_for(lambda: ("probe-start", "tests") in _events(fresh_store, run_id))
    time.sleep(1)  # the test is sleeping inside the sandbox now, and no event will come
    with unit_of_work(fresh_store.factory) as session:
        assert queue.cancel(session, run_id) == RunState.RUNNING
    asked = time.monotonic()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert time.monotonic() - asked < 10  # not the two minutes the test sleeps
    run = run_row(fresh_store, run_id)
    assert ended == [RunState.CANCELLED] and run.state == RunState.CANCELLED
    assert run.report_sha256 is None and run.reason == "cancelled on request"
    assert not work_folder(job_settings, claim).exists()
    # Ended once: a second end for the same claim changes nothing.
    with unit_of_work(fresh_store.factory) as session:
        assert not queue.finish(session, claim, RunState.DONE)
    assert run_row(fresh_store, run_id).state == RunState.CANCELLED


@SQLITE_ONLY
def test_a_worker_that_lost_its_run_writes_no_report(
    fresh_store: Store, enqueue: Enqueue, job_settings: Settings
) -> None:
    run_id = enqueue(archive=tiny_archive(delay_s=2))
    with unit_of_work(fresh_store.factory) as session:
        lost = queue.claim_next(session, worker="lost", free_cores=1)
    assert lost is not None
    ended: list[RunState | None] = []
    thread = threading.Thread(
        target=lambda: ended.append(
            execute(
                factory=fresh_store.factory,
                blobs=fresh_store.blobs,
                settings=job_settings,
                claim=lost,
            )
        )
    )
    thread.start()
    _wait_for(lambda: ("probe-start", "tests") in _events(fresh_store, run_id))
    # Another worker decides the first one died and takes the run over.
    with unit_of_work(fresh_store.factory) as session:
        assert queue.reclaim_stale(session, stale_after_s=0, max_attempts=3) == [run_id]
        taken = queue.claim_next(session, worker="new", free_cores=1)
    assert taken is not None and taken.attempt == 2
    thread.join()
    run = run_row(fresh_store, run_id)
    assert ended == [None]
    assert (run.state, run.worker, run.report_sha256) == (RunState.RUNNING, "new", None)


@SQLITE_ONLY
def test_a_worker_takes_only_as_many_runs_as_its_cores_allow(
    fresh_store: Store, enqueue: Enqueue, job_settings: Settings
) -> None:
    service_runs = [enqueue(cores=2) for _ in range(2)]
    small = enqueue(cores=1)
    workers = EmbeddedWorkers(
        factory=fresh_store.factory, blobs=fresh_store.blobs, settings=job_settings
    )
    assert workers.step()  # the first service run takes both cores
    assert not workers.step()  # nothing fits, not even the one-core run
    assert workers.free_cores == 0
    states = [run_row(fresh_store, r).state for r in [*service_runs, small]]
    assert states == [RunState.RUNNING, RunState.QUEUED, RunState.QUEUED]
    workers.join()
    assert workers.free_cores == 2
    assert workers.step() and not workers.step()  # the second service run, alone again
    workers.join()
    states = [run_row(fresh_store, r).state for r in [*service_runs, small]]
    assert states == [RunState.DONE, RunState.DONE, RunState.QUEUED]


@SQLITE_ONLY
def test_a_restart_sweeps_only_its_own_stores_folders(
    fresh_store: Store, enqueue: Enqueue, tmp_path: Path
) -> None:
    # Two servers may share one PROOFWORK_HOME with stores of their own: one starting up must
    # not remove the folder of a grade the other is running.
    settings = load_settings(install=False, home=tmp_path)
    running, finished = enqueue(), enqueue()
    with unit_of_work(fresh_store.factory) as session:
        claim = queue.claim_run(session, running, worker="w")
        assert claim is not None
        done = queue.claim_run(session, finished, worker="w")
        assert done is not None
        queue.finish(session, done, RunState.DONE, reason="")
    work = settings.runs_dir / "service"
    names = [f"{running}-1", f"{running}-0", f"{finished}-1", "someone-elses-run-1", "old-run-1"]
    for name in names:
        (work / name).mkdir(parents=True)
    long_ago = time.time() - ORPHAN_AFTER_S - 60
    os.utime(work / "old-run-1", (long_ago, long_ago))

    removed = sweep_work_folders(fresh_store.factory, settings)

    assert removed == sorted([f"{running}-0", f"{finished}-1", "old-run-1"])
    assert sorted(p.name for p in work.iterdir()) == sorted([f"{running}-1", "someone-elses-run-1"])
