"""The application factory: wires storage, payments and the retry worker into FastAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.api import Services, router
from app.checkout import Checkout
from app.config import Settings
from app.db import Database
from app.errors import install_error_handlers
from app.logs import RequestContext
from app.payments import Paystream
from app.worker import PaymentRetrier


def create_app(
    settings: Settings, *, payments_transport: httpx.BaseTransport | None = None, run_worker: bool = True
) -> FastAPI:
    """Build the service; storage opens and the worker starts when the app starts."""
    db = Database(settings.database_path, synchronous=settings.sqlite_synchronous)
    payments = Paystream(
        settings.payments_url,
        attempt_timeout_s=settings.payment_attempt_timeout_s,
        connect_timeout_s=settings.payment_connect_timeout_s,
        max_attempts=settings.payment_max_attempts,
        transport=payments_transport,
    )
    checkout = Checkout(db=db, payments=payments, settings=settings)
    retrier = PaymentRetrier(checkout)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        db.create_schema()
        if run_worker:
            retrier.start()
        try:
            yield
        finally:
            retrier.stop(timeout_s=settings.payment_budget_s + 1.0)
            payments.close()
            db.close()

    app = FastAPI(title="Fernbrook orders API", version="1.0", lifespan=lifespan)
    app.state.services = Services(db=db, checkout=checkout)
    app.state.retrier = retrier
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(RequestContext)
    return app
