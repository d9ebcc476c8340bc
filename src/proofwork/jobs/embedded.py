"""Embedded workers: threads inside `proofwork serve` that claim queued runs from the store.

Written as small steps (claim one run, start it, return whether there was work) so a test can
run one step, and a stop event ends the loop. A worker takes a run only while the cores it
needs are free, so two service challenges (two cores each) never share a two-core machine.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from proofwork.config import Settings
from proofwork.jobs import queue
from proofwork.jobs.execute import execute, sweep_work_folders
from proofwork.store.blobs import BlobStore
from proofwork.store.database import unit_of_work
from proofwork.store.models import Run

NO_LIMIT = 1 << 16
log = logging.getLogger(__name__)


def worker_name() -> str:
    """This process's name in the run rows: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class EmbeddedWorkers:
    """Grades queued runs on threads while this process has free cores."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        blobs: BlobStore,
        settings: Settings,
        poll_s: float = 0.2,
    ) -> None:
        self.factory, self.blobs, self.settings, self.poll_s = factory, blobs, settings, poll_s
        self.cores = settings.worker_cores or os.cpu_count() or 1
        self.name = worker_name()
        self.wake = threading.Event()
        self._running: dict[queue.Claim, tuple[threading.Thread, int]] = {}
        self._last_reclaim = 0.0

    @property
    def free_cores(self) -> int:
        """Cores not taken by the runs grading now."""
        self._reap()
        return self.cores - sum(cores for _, cores in self._running.values())

    def step(self) -> bool:
        """Requeue stale runs, then start one queued run that fits; True when one started."""
        self._reclaim()
        free = self.free_cores
        if free <= 0:
            return False
        # An idle worker takes a run that needs more cores than it has, rather than none ever.
        fits = free if self._running else NO_LIMIT
        with unit_of_work(self.factory) as session:
            claim = queue.claim_next(session, worker=self.name, free_cores=fits)
            cores = session.get_one(Run, claim.run_id).cores if claim else 0
        if claim is None:
            return False
        thread = threading.Thread(
            target=execute,
            kwargs={
                "factory": self.factory,
                "blobs": self.blobs,
                "settings": self.settings,
                "claim": claim,
            },
            name=f"run-{claim.run_id[:8]}",
            daemon=True,
        )
        self._running[claim] = (thread, cores)
        thread.start()
        return True

    def run(self, stop: threading.Event) -> None:
        """Step until `stop` is set; sleep between empty steps unless woken."""
        while not stop.is_set():
            try:
                found = self.step()
            except SQLAlchemyError:  # the store is busy or away: try again, never stop
                log.exception("embedded worker step failed; retrying")
                found = False
            if not found:
                self.wake.wait(self.poll_s)
                self.wake.clear()

    def join(self, timeout_s: float | None = None) -> None:
        """Wait for the runs grading now to end."""
        for thread, _ in list(self._running.values()):
            thread.join(timeout_s)
        self._reap()

    def release(self) -> None:
        """Hand the runs grading now back to the queue (a clean stop; their threads' late
        results are then discarded, as a lost worker's are)."""
        self._reap()
        with unit_of_work(self.factory) as session:
            for claim in self._running:
                queue.release(session, claim)

    def _reap(self) -> None:
        for claim, (thread, _) in list(self._running.items()):
            if not thread.is_alive():
                del self._running[claim]

    def _reclaim(self) -> None:
        now = time.monotonic()
        if now - self._last_reclaim < self.settings.heartbeat_s:
            return
        self._last_reclaim = now
        with unit_of_work(self.factory) as session:
            queue.reclaim_stale(
                session,
                stale_after_s=self.settings.stale_after_s,
                max_attempts=self.settings.max_attempts,
            )
        # After a crash (kill -9), the folders of the runs it was grading go once those runs
        # are reclaimed; finished runs' folders at once.
        sweep_work_folders(self.factory, self.settings)
