"""The queue's state changes: atomic claims, heartbeats, reclaiming, write-once ends, cancel."""

from __future__ import annotations

import datetime as dt
import threading

from databases import Store
from jobs_support import Enqueue, run_row
from sqlalchemy import update

from proofwork.jobs import queue
from proofwork.jobs.queue import Claim
from proofwork.store.database import unit_of_work
from proofwork.store.models import Run, RunState


def _claim(store: Store, worker: str = "w1", free_cores: int = 2) -> Claim | None:
    with unit_of_work(store.factory) as session:
        return queue.claim_next(session, worker=worker, free_cores=free_cores)


def _go_stale(store: Store, run_id: str) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with unit_of_work(store.factory) as session:
        session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=long_ago))


def _reclaim(store: Store, max_attempts: int = 3) -> int:
    with unit_of_work(store.factory) as session:
        return len(queue.reclaim_stale(session, stale_after_s=30, max_attempts=max_attempts))


def test_claims_take_the_oldest_queued_run_first(fresh_store: Store, enqueue: Enqueue) -> None:
    first, second = enqueue(), enqueue()
    claim = _claim(fresh_store)
    assert claim == Claim(first, "w1", 1)
    assert _claim(fresh_store, "w2") == Claim(second, "w2", 1)
    assert _claim(fresh_store) is None
    row = run_row(fresh_store, first)
    assert row.state == RunState.RUNNING and row.worker == "w1" and row.heartbeat_at


def test_racing_workers_claim_each_run_exactly_once(fresh_store: Store, enqueue: Enqueue) -> None:
    runs = {enqueue(archive=b"same archive, stored once") for _ in range(24)}
    claims: list[Claim] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        while (claim := _claim(fresh_store, name)) is not None:
            with lock:
                claims.append(claim)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(c.run_id for c in claims) == sorted(runs)


def test_a_run_needing_more_cores_than_are_free_waits(fresh_store: Store, enqueue: Enqueue) -> None:
    service = enqueue(cores=2)
    assert _claim(fresh_store, free_cores=1) is None
    assert _claim(fresh_store, free_cores=2) == Claim(service, "w1", 1)


def test_a_stale_run_is_claimed_again_and_the_lost_worker_can_change_nothing(
    fresh_store: Store, enqueue: Enqueue
) -> None:
    run_id = enqueue()
    lost = _claim(fresh_store, "lost")
    assert lost is not None
    assert _reclaim(fresh_store) == 0  # fresh heartbeat: left alone
    _go_stale(fresh_store, run_id)
    assert _reclaim(fresh_store) == 1
    assert run_row(fresh_store, run_id).state == RunState.QUEUED
    again = _claim(fresh_store, "new")
    assert again == Claim(run_id, "new", 2)
    with unit_of_work(fresh_store.factory) as session:
        assert not queue.heartbeat(session, lost)
        assert not queue.record_event(session, lost, "phase", "intake")
        assert not queue.finish(session, lost, RunState.DONE, report_sha256="a" * 64)
        assert queue.finish(session, again, RunState.DONE, report_sha256="b" * 64)
        # Written once: not even the owner's duplicate changes the report.
        assert not queue.finish(session, again, RunState.FAILED, reason="late")
    row = run_row(fresh_store, run_id)
    assert (row.state, row.report_sha256, row.attempts) == (RunState.DONE, "b" * 64, 2)


def test_a_run_whose_worker_keeps_dying_fails_with_the_reason(
    fresh_store: Store, enqueue: Enqueue
) -> None:
    run_id = enqueue()
    for attempt in (1, 2):
        assert _claim(fresh_store) == Claim(run_id, "w1", attempt)
        _go_stale(fresh_store, run_id)
        assert _reclaim(fresh_store, max_attempts=2) == 1
    row = run_row(fresh_store, run_id)
    assert row.state == RunState.FAILED
    assert "stopped (no heartbeat for 30 s) 2 times" in row.reason
    assert row.finished_at is not None


def test_cancel_ends_a_queued_run_and_flags_a_running_one(
    fresh_store: Store, enqueue: Enqueue
) -> None:
    queued, running = enqueue(), enqueue()
    with unit_of_work(fresh_store.factory) as session:
        session.execute(
            update(Run)
            .where(Run.id == running)
            .values(queued_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        )
    claim = _claim(fresh_store)
    assert claim is not None and claim.run_id == running
    with unit_of_work(fresh_store.factory) as session:
        assert queue.cancel(session, queued) == RunState.CANCELLED
        assert queue.cancel(session, running) == RunState.RUNNING
        assert queue.cancel_requested(session, claim)
        assert queue.finish(session, claim, RunState.CANCELLED, reason="cancelled on request")
        assert queue.cancel(session, running) == RunState.CANCELLED
        assert queue.cancel(session, "no-such-run") is None


def test_queue_position_counts_the_runs_ahead(fresh_store: Store, enqueue: Enqueue) -> None:
    runs = [enqueue() for _ in range(3)]
    with unit_of_work(fresh_store.factory) as session:
        positions = [queue.queue_position(session, session.get_one(Run, r)) for r in runs]
    assert positions == [0, 1, 2]
    _claim(fresh_store)
    with unit_of_work(fresh_store.factory) as session:
        assert queue.queue_position(session, session.get_one(Run, runs[0])) is None
        assert queue.queue_position(session, session.get_one(Run, runs[2])) == 1


def test_a_finished_run_keeps_each_signals_level_apart_for_sorting(
    fresh_store: Store, enqueue: Enqueue
) -> None:
    run_id = enqueue()
    claim = _claim(fresh_store)
    assert claim is not None
    signals = [
        {"name": "production_readiness", "level": 3, "evidence": ["…"]},
        {"name": "business_understanding", "level": None, "status": "awaiting review"},
    ]
    with unit_of_work(fresh_store.factory) as session:
        assert queue.finish(session, claim, RunState.DONE, summary={"signals": signals})
    assert run_row(fresh_store, run_id).levels == {
        "production_readiness": 3,
        "business_understanding": None,
    }
