"""What routes receive: a session per request, the blob store, settings, the dispatcher."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from proofwork.web.app import Services


def services(request: Request) -> Services:
    """The app's services (store, blobs, settings, workers)."""
    found: Services = request.app.state.services
    return found


async def _services(request: Request) -> Services:
    # A coroutine: a plain function dependency would cost the request a thread switch.
    return services(request)


def reading(request: Request) -> bool:
    """Whether the request only reads (its session takes no write lock on SQLite)."""
    return request.method in ("GET", "HEAD")


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for this request; routes commit their own unit of work, the rest rolls back.

    Reads (GET) take no write lock on SQLite, so they never queue behind the workers. Opening a
    session does no I/O (it connects when first used), so it costs the request no thread
    switch; closing a read ends a read-only transaction, which waits for no lock."""
    found = services(request)
    session = (found.read_factory if reading(request) else found.factory)()
    try:
        yield session
    finally:
        if reading(request) or session.get_transaction() is None:  # nothing to wait for
            session.close()
        else:
            await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]
ServicesDep = Annotated["Services", Depends(_services)]
