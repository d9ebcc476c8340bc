"""The ASGI application: the store, the blob store and (optionally) embedded workers."""

from __future__ import annotations

import ctypes
import gc
import signal
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from celery import Celery
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from proofwork import __version__
from proofwork.config import Settings, load_settings
from proofwork.jobs import distributed
from proofwork.jobs.embedded import EmbeddedWorkers
from proofwork.store import BlobStore, blob_store, engine_for, session_factory
from proofwork.store.database import head_revision, read_engine
from proofwork.web import errors, pages
from proofwork.web.assessments import endpoints as assessments
from proofwork.web.candidates import endpoints as candidates
from proofwork.web.invitations import endpoints as invitations
from proofwork.web.portal import git_http
from proofwork.web.reminders import remind_forever
from proofwork.web.reviews import endpoints as reviews
from proofwork.web.runs import endpoints as runs
from proofwork.web.similarity import endpoints as similarity
from proofwork.web.submissions import endpoints as submissions
from proofwork.web.webhooks import endpoints as webhooks
from proofwork.webhooks.outbox import deliver_forever


@dataclass
class Services:
    """What request handlers reach through `app.state.services`."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore
    workers: EmbeddedWorkers | None
    celery: Celery | None = None
    reader: sessionmaker[Session] | None = None

    @property
    def read_factory(self) -> sessionmaker[Session]:
        """Sessions for reading requests (on SQLite they take no write lock)."""
        return self.reader or self.factory

    def dispose(self) -> None:
        """Close the store's pooled connections (the readers' too)."""
        if self.reader is not None:
            self.reader.kw["bind"].dispose()
        self.engine.dispose()

    def ring(self, run_ids: list[str]) -> None:
        """Tell the workers new runs are queued (after the commit that queued them)."""
        if self.workers is not None:
            self.workers.wake.set()
        if self.celery is not None:
            distributed.dispatch(self.celery, self.factory, run_ids)


def api_process_app() -> FastAPI:
    """The app of one of several API processes of `proofwork serve --api-processes N`: routes
    only, settings from the environment; the parent grades, sends webhooks and reminders."""
    if sys.platform == "linux":  # die with the parent, even when it is killed with SIGKILL
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    return create_app(build_services(load_settings(), worker_cores=0), background_work=False)


PR_SET_PDEATHSIG = 1


def build_services(settings: Settings, *, worker_cores: int | None) -> Services:
    """Open the store; embedded workers on `worker_cores` cores (0: none, None: settings)."""
    engine = engine_for(settings)
    factory = session_factory(engine)
    blobs = blob_store(settings)
    workers = None
    if worker_cores != 0:
        cores = settings.worker_cores if worker_cores is None else worker_cores
        workers = EmbeddedWorkers(
            factory=factory,
            blobs=blobs,
            settings=settings.model_copy(update={"worker_cores": cores}),
        )
    celery = distributed.create_celery(settings) if settings.broker_url else None
    reader = session_factory(read_engine(engine))
    return Services(settings, engine, factory, blobs, workers, celery, reader)


@contextmanager
def background(services: Services) -> Iterator[None]:
    """The embedded workers, the webhook sender and the invitation reminders, on threads, for
    as long as the block runs; on leaving, the runs in progress go back to the queue."""
    stop = threading.Event()
    loop = None
    if services.workers is not None:
        loop = threading.Thread(target=services.workers.run, args=(stop,), daemon=True)
        loop.start()
        sender = threading.Thread(
            target=deliver_forever, args=(services.factory, services.settings, stop),
            daemon=True, name="webhooks",
        )  # fmt: skip
        sender.start()
    reminders = threading.Thread(
        target=remind_forever, args=(services, stop), daemon=True, name="reminders"
    )
    reminders.start()
    try:
        yield
    finally:
        stop.set()
        reminders.join()
        if services.workers is not None and loop is not None:
            services.workers.wake.set()
            loop.join()
            services.workers.release()


def create_app(services: Services | None, *, background_work: bool = True) -> FastAPI:
    """The FastAPI app; embedded workers and the other background work run for as long as it
    does, unless `background_work` is off (None: routes only, for the OpenAPI document)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if services is None:
            yield
            return
        # What exists by now (modules, routes, compiled statements) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it (one
        # took ~120 ms, a stall every request in flight waited out).
        gc.freeze()
        try:
            with background(services) if background_work else nullcontext():
                yield
        finally:
            services.dispose()

    app = FastAPI(
        title="Proofwork",
        version=__version__,
        lifespan=lifespan,
        description="Grade Python work samples by running them like production does.",
    )
    app.state.services = services
    errors.install(app)
    install_api(app)
    pages.install(app)
    app.include_router(git_http.router)
    return app


API_PREFIX = "/api/v1"


class Health(BaseModel):
    status: str
    version: str
    schema_revision: str


def install_api(app: FastAPI) -> None:
    """Every /api/v1 route. Each domain's router is included in the app itself: FastAPI
    matches a router included in a router that is included in turn again at every level, on
    every request (reading one run spent 15% of its instructions on that)."""
    service = APIRouter()

    @service.get("/health", tags=["service"])
    def health() -> Health:
        """The service is up; its version and the schema it runs on (no token needed)."""
        return Health(status="ok", version=__version__, schema_revision=head_revision())

    for router in (service, *(module.router for module in DOMAINS)):
        app.include_router(router, prefix=API_PREFIX, responses=errors.ERROR_RESPONSES)


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as served at /openapi.json."""
    return create_app(None).openapi()


DOMAINS = (
    assessments, candidates, invitations, submissions, runs, reviews, webhooks, similarity,
)  # fmt: skip


def route_permissions() -> dict[tuple[str, str], str]:
    """(method, path) of every /api/v1 route that needs a token, and the permission it needs."""
    table = {}
    for module in DOMAINS:
        for route in module.router.routes:
            if not isinstance(route, APIRoute):
                continue
            stack = list(route.dependant.dependencies)
            while stack:
                dependency = stack.pop()
                permission = getattr(dependency.call, "permission", None)
                if permission is not None:
                    for method in route.methods or ():
                        table[(method, f"{API_PREFIX}{route.path}")] = permission
                stack += dependency.dependencies
    return table
