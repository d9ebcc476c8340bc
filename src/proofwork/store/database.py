"""Engines, sessions and the schema's version: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Executable, Result, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from proofwork.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


SQLITE_BEGIN = "proofwork_sqlite_begin"


READER = "proofwork_reader"


def read_options(dialect: str) -> dict[str, str]:
    """Execution options for work that only reads. On SQLite a DEFERRED transaction: it takes
    no write lock, so it never waits for (or blocks) the writer. On PostgreSQL autocommit: each
    statement reads its own snapshot, without the BEGIN and ROLLBACK that would each cost a
    round trip to the server."""
    if dialect == "postgresql":
        return {"isolation_level": "AUTOCOMMIT"}
    return {SQLITE_BEGIN: "DEFERRED"}


def read_engine(engine: Engine) -> Engine:
    """An engine for requests that only read (`read_options`). On PostgreSQL it has its own pool
    of connections opened in autocommit, so a read does not switch a connection into autocommit
    and back on every checkout; on SQLite it shares the engine's pool."""
    if engine.dialect.name == "postgresql":
        reader = _postgres_engine(engine.url, isolation_level="AUTOCOMMIT")
        return reader.execution_options(**{READER: True})
    return engine.execution_options(**read_options(engine.dialect.name), **{READER: True})


# The API reads on its event loop (short reads that wait for no lock) and writes on up to 40
# threads (anyio's default): the pool must never make the loop wait for a connection a thread
# holds, so it has room for every thread and the loop at once. Connections open only as
# needed.
POOL = {"pool_size": 8, "max_overflow": 48}


class StoreError(Exception):
    """The store cannot be used as configured (bad URL, old schema); says what to do."""


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StoreError(f"bad PROOFWORK_DATABASE_URL {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    if parsed.get_backend_name() != "postgresql":
        raise StoreError(
            f"unsupported store {parsed.get_backend_name()!r}: use sqlite:/// or "
            "postgresql+psycopg://"
        )
    return _postgres_engine(parsed.set(drivername="postgresql+psycopg"))


def _postgres_engine(url: str | URL, **options: Any) -> Engine:
    # Sessions in UTC: times come back in the UTC the store hands out, with nothing to convert.
    engine = create_engine(url, connect_args={"options": "-c timezone=UTC"}, **POOL, **options)
    _ping_after_idle(engine)
    return engine


# A pooled connection idle this long is tested before use (the server may have restarted or a
# firewall dropped it meanwhile). One in steady use is not: a test on every checkout
# (`pool_pre_ping`) was a sixth of an API read's time; if the server goes away while a
# connection is busy, the statement fails, and SQLAlchemy then replaces every pooled
# connection.
PING_AFTER_IDLE_S = 10.0


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new, or in steady use
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection was lost: {exc}") from exc


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **POOL)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # SQLAlchemy emits BEGIN itself (below), so pysqlite's own transaction handling, which
        # breaks SAVEPOINTs, is turned off.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading
        # their locks; read-only work asks for DEFERRED and reads beside the writer (WAL).
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {'DEFERRED' if mode == 'DEFERRED' else 'IMMEDIATE'}")

    return engine


def describe_url(url: str) -> str:
    """The URL as it may be shown: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # unparsable: shown as typed, there is nothing to hide
        return url


def engine_for(settings: Settings) -> Engine:
    """The store's engine as the settings describe it."""
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.store_url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (services hand them to routers)."""
    return sessionmaker(engine, expire_on_commit=False)


def columns(session: Session, statement: Executable, params: dict[str, Any]) -> Result[Any]:
    """Rows of a statement of columns, run on the session's connection. No ORM objects are
    built from them, and on a hot route the ORM's execution path cost more than the read
    itself. Pending changes are flushed first, as `Session.execute` would."""
    session.flush()
    return session.connection().execute(statement, params)


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reading: on SQLite it does not wait for (or block) the writer."""
    with factory() as session:
        bind = session.get_bind()
        options = read_options(bind.dialect.name)
        if bind.get_execution_options().get(READER):
            options = {}  # a read engine's connections have them already
        elif not isinstance(bind, Engine):
            # A session on a connection joins its transaction (as the tests' do), whose
            # isolation cannot change now.
            options.pop("isolation_level", None)
        if options:
            session.connection(execution_options=options)
        yield session


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with factory() as session, session.begin():
        yield session


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the revision (Alembic migrations)."""
    command.upgrade(_alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to the revision ("base": no tables)."""
    command.downgrade(_alembic_config(engine), revision)


@functools.cache
def head_revision() -> str:
    """The newest migration this code knows."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if head is None:
        raise StoreError(f"no migrations in {MIGRATIONS}: the installation is broken")
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema's revision in the store (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise StoreError saying to run `proofwork db upgrade` unless the schema is at head."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreError(
            f"the store's schema is at {current or 'nothing (empty store)'}, this Proofwork "
            f"needs {head}: run `proofwork db upgrade` first"
        )
