from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.db import Database
from app.main import create_app
from tests.support import FakePaystream

ClientFactory = Callable[..., TestClient]


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the schema, built once; creating one costs a few fsyncs per test otherwise."""
    db = Database(tmp_path_factory.mktemp("template") / "orders.sqlite3")
    db.create_schema()
    db.close()
    return db.path


@pytest.fixture
def settings(tmp_path: Path, empty_database: Path) -> Settings:
    (tmp_path / "data").mkdir()
    shutil.copy(empty_database, tmp_path / "data" / empty_database.name)
    return Settings(
        data_dir=tmp_path / "data",
        payments_url="http://paystream.test",
        payment_budget_s=0.5,
        payment_attempt_timeout_s=0.2,
        payment_connect_timeout_s=0.1,
        payment_max_attempts=2,
        retry_base_s=0.01,
        retry_max_s=0.05,
        retry_poll_s=0.01,
    )


@pytest.fixture
def paystream() -> FakePaystream:
    return FakePaystream()


@pytest.fixture
def client_factory(settings: Settings, paystream: FakePaystream) -> Iterator[ClientFactory]:
    """Start the app (lifespan included) against the fake Paystream; overrides change settings."""
    started: list[TestClient] = []

    def start(run_worker: bool = False, **overrides: Any) -> TestClient:
        app = create_app(
            dataclasses.replace(settings, **overrides),
            payments_transport=httpx.MockTransport(paystream),
            run_worker=run_worker,
        )
        client = TestClient(app)
        client.__enter__()
        started.append(client)
        return client

    yield start
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def client(client_factory: ClientFactory) -> TestClient:
    return client_factory()
