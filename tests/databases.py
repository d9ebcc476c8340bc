"""Store fixtures: SQLite and a real PostgreSQL server this test session starts itself.

Migrate once per backend, then each test runs inside an outer transaction that is rolled back
(the session joins it through savepoints, so code under test may commit freely).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from proofwork.store import (
    BlobStore,
    DatabaseBlobs,
    FolderBlobs,
    make_engine,
    session_factory,
    upgrade,
)

BACKENDS = ["sqlite", "postgresql"]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        pytest.fail(f"PostgreSQL's {name} is missing: run scripts/system-deps.sh")
    return found[-1]


class PostgresServer:
    """A throwaway PostgreSQL cluster on a unix socket in a temporary folder.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user
    that Debian's package creates (`nobody` otherwise).
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pw-pg-"))
        self.data, self.socket = self.root / "data", self.root / "socket"
        self.socket.mkdir()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres" if _has_user("postgres") else "nobody"
            pw = pwd.getpwnam(self.user)
            for path in (self.root, self.socket):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        self.root.chmod(0o755)

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        """initdb, then pg_ctl start (durability off: the cluster lives for one session)."""
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-U", "proofwork", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses='' -k {self.socket} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            _pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
            str(self.root / "server.log"), "-w", "start",
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://proofwork@/{database}?host={self.socket}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        engine = make_engine(self.url())
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def empty_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], str]:
    """Makes URLs of new, empty databases on a backend ("sqlite" or "postgresql")."""
    made = iter(range(1_000_000))

    def make(backend: str) -> str:
        name = f"proofwork_{next(made)}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / name}.db"
        server: PostgresServer = request.getfixturevalue("postgres")
        return server.create_database(name)

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def db_engine(
    request: pytest.FixtureRequest, empty_database: Callable[[str], str]
) -> Iterator[Engine]:
    """A migrated store per backend, shared by the session's tests."""
    engine = make_engine(empty_database(request.param))
    upgrade(engine)
    yield engine
    engine.dispose()


@dataclass
class Store:
    """A migrated store of its own, for tests where several connections must really commit."""

    url: str
    engine: Engine
    factory: sessionmaker[Session]
    blobs: BlobStore


@pytest.fixture(params=BACKENDS)
def fresh_store(
    request: pytest.FixtureRequest, empty_database: Callable[[str], str], tmp_path: Path
) -> Iterator[Store]:
    """A new migrated store per test, on each backend (with its default blob store)."""
    url = empty_database(request.param)
    engine = make_engine(url)
    upgrade(engine)
    blobs = FolderBlobs(tmp_path / "blobs") if request.param == "sqlite" else DatabaseBlobs()
    yield Store(url, engine, session_factory(engine), blobs)
    engine.dispose()


@pytest.fixture
def db(db_engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    connection = db_engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield session
    session.close()
    outer.rollback()
    connection.close()
