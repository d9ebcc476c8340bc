"""The store's schema: migrations agree with the models, SQLite runs in WAL, old schemas refuse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from proofwork.config import load_settings
from proofwork.store import (
    StoreError,
    current_revision,
    downgrade,
    engine_for,
    head_revision,
    make_engine,
    require_current_schema,
    upgrade,
)
from proofwork.store.database import session_factory, unit_of_work
from proofwork.store.models import Base, Organisation, Run, Submission

BACKENDS = ["sqlite", "postgresql"]


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_go_down_and_up_again(
    backend: str, empty_database: Callable[[str], str]
) -> None:
    engine = make_engine(empty_database(backend))
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"organisation", "run", "blob", "webhook_delivery", "audit_event"} <= tables
    downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unmigrated_store_refuses_and_says_to_upgrade(
    backend: str, empty_database: Callable[[str], str]
) -> None:
    engine = make_engine(empty_database(backend))
    with pytest.raises(StoreError, match="run `proofwork db upgrade` first"):
        require_current_schema(engine)
    upgrade(engine)
    require_current_schema(engine)
    engine.dispose()


def test_the_default_store_is_sqlite_in_wal_mode_under_home(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    engine = engine_for(settings)
    upgrade(engine)
    assert (tmp_path / "proofwork.db").is_file()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_a_bad_database_url_is_refused_with_the_setting_named() -> None:
    with pytest.raises(StoreError, match="PROOFWORK_DATABASE_URL"):
        make_engine("not a url")
    with pytest.raises(StoreError, match="unsupported store 'mysql'"):
        make_engine("mysql://localhost/x")


def test_times_come_back_aware_in_utc(db: Session) -> None:
    org = Organisation(name="Acme")
    db.add(org)
    db.commit()
    db.expire_all()
    loaded = db.scalars(select(Organisation)).one()
    assert loaded.created_at.tzinfo == dt.UTC


def test_naive_times_are_refused(db: Session) -> None:
    db.add(Organisation(name="Acme", created_at=dt.datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.flush()


def test_each_test_starts_from_an_empty_store(db: Session) -> None:
    # The tests above committed organisations; the outer transaction undid them.
    assert db.scalars(select(Organisation)).all() == []


def test_unit_of_work_commits_or_rolls_back(db_engine: Engine) -> None:
    factory = session_factory(db_engine)
    with pytest.raises(RuntimeError), unit_of_work(factory) as session:
        session.add(Organisation(name="Rolled back"))
        session.flush()
        raise RuntimeError("boom")
    with unit_of_work(factory) as session:
        assert (
            session.scalars(select(Organisation).where(Organisation.name == "Rolled back")).all()
            == []
        )


def test_foreign_keys_cascade(db: Session) -> None:
    org = Organisation(name="Acme")
    db.add(org)
    db.flush()
    submission = Submission(org_id=org.id, sha256="0" * 64, size=1, origin="upload")
    db.add(submission)
    db.flush()
    db.add(Run(org_id=org.id, submission_id=submission.id))
    db.flush()
    db.execute(text("DELETE FROM organisation"))
    assert db.scalars(select(Run)).all() == []


def test_db_upgrade_creates_then_reports_the_schema(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from proofwork.cli import app

    runner, env = CliRunner(), {"PROOFWORK_HOME": str(tmp_path)}
    first = runner.invoke(app, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert f"upgraded from nothing to {head_revision()}" in first.output
    again = runner.invoke(app, ["db", "upgrade"], env=env)
    assert f"already at {head_revision()}" in again.output
    bad = runner.invoke(app, ["db", "upgrade"], env={**env, "PROOFWORK_DATABASE_URL": "x://"})
    assert bad.exit_code == 2
    assert "unsupported store 'x'" in bad.output


def test_serve_refuses_an_old_schema_and_says_what_to_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from proofwork.cli import app

    result = CliRunner().invoke(app, ["serve"], env={"PROOFWORK_HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert "run `proofwork db upgrade` first" in result.output
