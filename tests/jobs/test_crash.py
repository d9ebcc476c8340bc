"""A real `proofwork serve`: a run through its API reports like the CLI, and crashes lose
nothing (kill -9 mid-grade, restart, every run ends done exactly once)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from databases import Store
from jobs_support import Enqueue, comparable, run_row, tiny_archive
from sqlalchemy import select

from proofwork import engine
from proofwork.config import load_settings
from proofwork.jobs.execute import WORK
from proofwork.store import DatabaseBlobs, make_engine, session_factory, upgrade
from proofwork.store.database import unit_of_work
from proofwork.store.models import Role, RunEvent, RunState
from proofwork.web import admin

pytestmark = pytest.mark.slow
PROOFWORK = str(Path(sys.executable).parent / "proofwork")


@pytest.fixture
def fresh_store(empty_database: Callable[[str], str]) -> Iterator[Store]:
    """SQLite with blobs in rows: the serve process and the test reach the same store."""
    url = empty_database("sqlite")
    engine = make_engine(url)
    upgrade(engine)
    yield Store(url, engine, session_factory(engine), DatabaseBlobs())
    engine.dispose()


def _serve(store: Store, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PROOFWORK_DATABASE_URL": store.url,
        "PROOFWORK_BLOBS": "database",
        "PROOFWORK_INSTALL": "false",
        "PROOFWORK_HEARTBEAT_S": "0.5",
        "PROOFWORK_STALE_AFTER_S": "3",
    }
    argv = [PROOFWORK, "serve", "--port", str(port), "--workers", "2"]
    with log.open("ab") as sink:
        return subprocess.Popen(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)


def _events(store: Store, run_id: str) -> list[tuple[int, str, str]]:
    with unit_of_work(store.factory) as session:
        rows = session.scalars(
            select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
        )
        return [(e.attempt, e.kind, e.name) for e in rows]


def _wait_for(
    predicate: Callable[[], bool], timeout_s: float, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"the service exited: {log.read_text()}")
        assert time.monotonic() < deadline, f"timed out; the service said: {log.read_text()}"
        time.sleep(0.1)


def test_kill_9_of_serve_mid_grade_then_a_restart_ends_every_run_done_once(
    fresh_store: Store, enqueue: Enqueue, unused_port: int, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    runs = [enqueue(archive=tiny_archive(delay_s=4)) for _ in range(2)]
    first = _serve(fresh_store, unused_port, log)
    try:
        _wait_for(
            lambda: all((1, "probe-start", "tests") in _events(fresh_store, r) for r in runs),
            120,
            first,
            log,
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert all(run_row(fresh_store, r).state == RunState.RUNNING for r in runs)
    work = load_settings().runs_dir / WORK
    assert all((work / f"{r}-1").is_dir() for r in runs)  # what the kill left behind
    second = _serve(fresh_store, unused_port, log)
    try:
        _wait_for(
            lambda: all(run_row(fresh_store, r).state.finished for r in runs), 180, second, log
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    for run_id in runs:
        run = run_row(fresh_store, run_id)
        assert (run.state, run.attempts) == (RunState.DONE, 2), run.reason
        assert run.report_sha256 is not None
        ends = [e for e in _events(fresh_store, run_id) if e[1:] == ("probe-end", "tests")]
        assert ends == [(2, "probe-end", "tests")]
        assert not list(work.glob(f"{run_id}-*"))  # the restart cleaned the killed attempt's


def test_a_run_uploaded_through_the_api_reports_like_the_cli(
    fresh_store: Store, unused_port: int, tmp_path: Path
) -> None:
    with unit_of_work(fresh_store.factory) as session:
        org = admin.create_org(session=session, name="Acme")
        user = admin.create_user(session=session, org=org, email="a@acme.test", role=Role.OWNER)
        token = admin.create_token(session=session, org=org, role=Role.OWNER, user=user)[1]
    log = tmp_path / "serve.log"
    server = _serve(fresh_store, unused_port, log)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{unused_port}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    try:
        _wait_for(lambda: _answers(client), 60, server, log)
        files = {"file": ("ada-lovelace.tar.gz", tiny_archive(), "application/gzip")}
        created = client.post("/submissions", files=files, data={"probes": "tests"})
        assert created.status_code == 201, created.text
        run_id = created.json()["run"]["id"]
        _wait_for(
            lambda: client.get(f"/runs/{run_id}").json()["state"] != "queued", 60, server, log
        )
        _wait_for(lambda: run_row(fresh_store, run_id).state.finished, 180, server, log)
        run = client.get(f"/runs/{run_id}").json()
        assert run["state"] == "done", run
        report = client.get(f"/runs/{run_id}/report").json()
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    archive = tmp_path / "tiny.tar.gz"
    archive.write_bytes(tiny_archive())
    settings = load_settings(install=False)
    direct = engine.grade(engine.GradeRequest(source=archive, settings=settings, probes=["tests"]))
    assert comparable(report) == comparable(direct.to_json())
    assert "lovelace" not in json.dumps(report)  # the upload's name may name the candidate


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        return False
