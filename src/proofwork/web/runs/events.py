"""A run's progress as server-sent events, for the API and the pages alike.

Events come from the store (the workers write them), polled every half second while the run
goes on; the stream ends when the run has ended and every event was sent, or after `wait_s`.
Pages also ask for `state` events: the run's state, phase and place in the queue whenever they
change, so a queued run's page can say how many runs are ahead of it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from proofwork.jobs import queue
from proofwork.store.database import read_only
from proofwork.store.models import Run
from proofwork.web.runs import repository
from proofwork.web.runs.schemas import RunEventOut

POLL_S = 0.5
PUBLIC_KINDS = ("phase", "probe-start", "probe-end")


def run_state(run: Run | None, session: Session) -> dict[str, Any]:
    """What a page shows of where a run stands."""
    if run is None:
        return {"state": "gone", "phase": "", "queue_position": None, "reason": ""}
    return {
        "state": str(run.state),
        "phase": run.phase,
        "queue_position": queue.queue_position(session, run),
        "reason": run.reason,
    }


def _poll(
    factory: sessionmaker[Session], run_id: str, after: int
) -> tuple[list[RunEventOut], bool, dict[str, Any]]:
    with read_only(factory) as session:
        events = [RunEventOut.model_validate(e) for e in repository.events(session, run_id, after)]
        run = session.get(Run, run_id)
        return events, run is None or run.state.finished, run_state(run, session)


async def event_stream(
    factory: sessionmaker[Session],
    run_id: str,
    after: int,
    wait_s: float,
    *,
    with_state: bool = False,
    public: bool = False,
) -> AsyncIterator[str]:
    """The run's events after `after` as SSE text (`state` events too when asked). `public`
    (the candidate's page) keeps only which phase and probe runs, without messages."""
    deadline = time.monotonic() + wait_s
    last_state: dict[str, Any] | None = None
    while True:
        events, finished, state = await run_in_threadpool(_poll, factory, run_id, after)
        if public:
            state = {key: value for key, value in state.items() if key != "reason"}
        if with_state and state != last_state:
            last_state = state
            yield f"event: state\ndata: {json.dumps(state)}\n\n"
        for event in events:
            after = event.id
            if public:
                if event.kind not in PUBLIC_KINDS:
                    continue
                event = event.model_copy(update={"message": ""})
            data = json.dumps(event.model_dump(mode="json"))
            yield f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"
        if (finished and not events) or time.monotonic() >= deadline:
            yield "event: end\ndata: {}\n\n"
            return
        if not events:
            await asyncio.sleep(POLL_S)
