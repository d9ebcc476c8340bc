"""The ASGI application: the store, the blob store and (optionally) embedded workers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from proofwork import __version__
from proofwork.config import Settings
from proofwork.jobs.embedded import EmbeddedWorkers
from proofwork.store import BlobStore, blob_store, engine_for, session_factory
from proofwork.store.database import head_revision


@dataclass
class Services:
    """What request handlers reach through `app.state.services`."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore
    workers: EmbeddedWorkers | None


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
    return Services(settings, engine, factory, blobs, workers)


def create_app(services: Services) -> FastAPI:
    """The FastAPI app; embedded workers run for as long as it does."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        loop = None
        if services.workers is not None:
            loop = threading.Thread(target=services.workers.run, args=(stop,), daemon=True)
            loop.start()
        try:
            yield
        finally:
            stop.set()
            if services.workers is not None and loop is not None:
                services.workers.wake.set()
                loop.join()
                services.workers.release()
            services.engine.dispose()

    app = FastAPI(title="Proofwork", version=__version__, lifespan=lifespan)
    app.state.services = services

    @app.get("/api/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        """The service is up; its version and the schema it runs on."""
        return {"status": "ok", "version": __version__, "schema": head_revision()}

    return app
