"""Scale-out: Celery workers over a Redis broker, each task carrying only a run's id.

The store stays the source of truth; a task is a doorbell. It claims its run with the same
conditional UPDATE the embedded workers use (a duplicate or late message finds the run taken
or finished and does nothing) and calls the same `execute`. Messages are acknowledged late and
rejected back to the queue when a worker process dies, prefetch is 1, and each worker sweeps
the store: a run whose heartbeat went stale (its machine was lost with the message) is put
back in the queue and rung for again, so no run depends on a message surviving.
"""

from __future__ import annotations

import os
import threading

from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proofwork.config import Settings
from proofwork.jobs import queue
from proofwork.jobs.embedded import worker_name
from proofwork.jobs.execute import execute, sweep_work_folders
from proofwork.store.blobs import BlobStore, blob_store
from proofwork.store.database import engine_for, session_factory, unit_of_work
from proofwork.store.models import Run, RunState
from proofwork.webhooks import outbox

TASK = "proofwork.run"


class CoreBudget:
    """The cores of this worker: a run waits until all the cores it needs are free at once."""

    def __init__(self, cores: int) -> None:
        self.cores, self.free = cores, cores
        self._changed = threading.Condition()

    def take(self, wanted: int) -> int:
        """Block until `wanted` cores (at most all of them) are free; take them."""
        wanted = min(wanted, self.cores)
        with self._changed:
            self._changed.wait_for(lambda: self.free >= wanted)
            self.free -= wanted
        return wanted

    def give(self, cores: int) -> None:
        """Hand cores back."""
        with self._changed:
            self.free += cores
            self._changed.notify_all()


class Runtime:
    """What a worker process needs to execute runs (built once, on its first task)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = engine_for(settings)
        self.factory: sessionmaker[Session] = session_factory(self.engine)
        self.blobs: BlobStore = blob_store(settings)
        self.budget = CoreBudget(settings.worker_cores or os.cpu_count() or 1)
        self.name = worker_name()

    def close(self) -> None:
        """Close the store's connections."""
        self.engine.dispose()


def create_celery(settings: Settings) -> Celery:
    """The Celery app for this broker: late acks, rejection on a lost worker, prefetch 1."""
    app = Celery("proofwork", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        # A message a lost machine took is seen again after this; the store's sweep has
        # usually requeued its run long before.
        broker_transport_options={"visibility_timeout": 3600},
    )
    state: dict[str, Runtime] = {}

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def run_task(run_id: str) -> str:
        runtime = state.get("runtime") or state.setdefault("runtime", Runtime(settings))
        return handle(runtime, run_id)

    return app


def handle(runtime: Runtime, run_id: str) -> str:
    """Claim the run if it is still queued, grade it within this worker's cores; the outcome."""
    with unit_of_work(runtime.factory) as session:
        cores = session.scalar(select(Run.cores).where(Run.id == run_id))
    if cores is None:
        return "gone"
    taken = runtime.budget.take(cores)
    try:
        with unit_of_work(runtime.factory) as session:
            claim = queue.claim_run(session, run_id, worker=runtime.name)
        if claim is None:
            return "not queued"
        state = execute(
            factory=runtime.factory, blobs=runtime.blobs, settings=runtime.settings, claim=claim
        )
        return state.value if state else "lost"
    finally:
        runtime.budget.give(taken)


def dispatch(app: Celery, factory: sessionmaker[Session], run_ids: list[str]) -> None:
    """Ring for each run (after the transaction that queued them committed)."""
    if not run_ids:
        return
    with unit_of_work(factory) as session:
        queue.mark_rung(session, run_ids)
    for run_id in run_ids:
        app.send_task(TASK, args=[run_id])


# Redis hands a message a lost machine took to another worker only after the visibility
# timeout; a run still queued this long is rung for again (a duplicate message is a no-op).
RING_AGAIN_S = 600.0


def sweep(app: Celery, factory: sessionmaker[Session], settings: Settings) -> list[str]:
    """Requeue stale runs, ring for them and for queued runs nobody rang for lately; the ids
    rung for."""
    with unit_of_work(factory) as session:
        changed = queue.reclaim_stale(
            session, stale_after_s=settings.stale_after_s, max_attempts=settings.max_attempts
        )
        requeued = session.scalars(
            select(Run.id).where(Run.id.in_(changed), Run.state == RunState.QUEUED)
        ).all()
        due = queue.unrung(session, older_than_s=RING_AGAIN_S)
    rung = sorted({*requeued, *due})
    dispatch(app, factory, rung)
    sweep_work_folders(factory, settings)
    return rung


def sweep_forever(
    app: Celery, factory: sessionmaker[Session], settings: Settings, stop: threading.Event
) -> None:
    """Sweep every heartbeat period until `stop` is set."""
    while not stop.wait(settings.heartbeat_s):
        sweep(app, factory, settings)
        outbox.deliver_due(factory, allow_private=settings.webhooks_allow_private)


def run_worker(settings: Settings, cores: int) -> None:
    """A Celery worker on `cores` threads (one run per core), sweeping the store meanwhile."""
    app = create_celery(settings.model_copy(update={"worker_cores": cores}))
    factory = session_factory(engine_for(settings))
    stop = threading.Event()
    sweeper = threading.Thread(
        target=sweep_forever, args=(app, factory, settings, stop), daemon=True, name="sweep"
    )
    sweeper.start()
    try:
        app.Worker(pool="threads", concurrency=cores, loglevel="WARNING", quiet=True).start()
    finally:
        stop.set()
        sweeper.join()
