"""What routes receive: a session per request, the blob store, settings, the dispatcher."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from proofwork.web.app import Services


def services(request: Request) -> Services:
    """The app's services (store, blobs, settings, workers)."""
    found: Services = request.app.state.services
    return found


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request; routes commit their own unit of work, the rest rolls back.

    Reads (GET) take no write lock on SQLite, so they never queue behind the workers."""
    found = services(request)
    reading = request.method in ("GET", "HEAD")
    with (found.read_factory if reading else found.factory)() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
ServicesDep = Annotated["Services", Depends(services)]
