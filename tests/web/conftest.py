"""API fixtures: the app on a store whose test transaction is rolled back, and the personas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from web_support import World, build_world

from proofwork.config import Settings, load_settings
from proofwork.store import DatabaseBlobs
from proofwork.web.app import Services, create_app


@pytest.fixture
def services(db_engine: Engine) -> Iterator[Services]:
    """The app's services on one connection inside an outer transaction, rolled back after."""
    connection = db_engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    settings: Settings = load_settings(max_bytes=64 * 1024)
    yield Services(settings, db_engine, factory, DatabaseBlobs(), workers=None)
    outer.rollback()
    connection.close()


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services)


@pytest.fixture
def client(app: FastAPI) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def world(services: Services) -> World:
    with services.factory() as session:
        return build_world(session, services.blobs)


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    with services.factory() as session:
        yield session
