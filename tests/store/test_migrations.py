"""Migrations that carry data: what older stores already hold comes through an upgrade."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import insert, select

from proofwork.store import make_engine, upgrade
from proofwork.store.models import Organisation, Run, Submission, utcnow

BACKENDS = ["sqlite", "postgresql"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_runs_graded_before_levels_were_kept_apart_get_them_from_their_summary(
    backend: str, empty_database: Callable[[str], str]
) -> None:
    engine = make_engine(empty_database(backend))
    upgrade(engine, "0003")
    now = utcnow()
    signals = [{"name": "operability", "level": 2}, {"name": "tradeoff_reasoning", "level": None}]
    common = {"org_id": "o", "created_at": now}
    with engine.begin() as connection:
        connection.execute(
            insert(Organisation.__table__).values(id="o", name="Acme", created_at=now)
        )
        connection.execute(
            insert(Submission.__table__).values(
                id="s", sha256="0" * 64, size=1, filename="", origin="cli", **common
            )
        )
        for run_id, summary in (("graded", {"signals": signals}), ("queued", None)):
            row = {"id": run_id, "submission_id": "s", "state": "done", "summary": summary}
            fixed = {
                "cores": 1,
                "attempts": 1,
                "cancel_requested": False,
                "phase": "",
                "reason": "",
            }
            connection.execute(
                insert(Run.__table__).values(**row, **fixed, queued_at=now, **common)
            )
    upgrade(engine)
    with engine.connect() as connection:
        found = dict(connection.execute(select(Run.__table__.c.id, Run.__table__.c.levels)).all())
    assert found == {"graded": {"operability": 2, "tradeoff_reasoning": None}, "queued": None}
    engine.dispose()
