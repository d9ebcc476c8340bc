"""Scale-out on real processes: a redis-server and `proofwork worker` (Celery) started here,
the store on the session's PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from databases import Store
from jobs_support import Enqueue, comparable, run_row, tiny_archive
from sqlalchemy import select

from proofwork import engine
from proofwork.config import Settings, load_settings
from proofwork.jobs import distributed
from proofwork.store import DatabaseBlobs, make_engine, session_factory, upgrade
from proofwork.store.database import unit_of_work
from proofwork.store.models import Role, RunEvent, RunState, SubmissionFingerprint
from proofwork.web import admin

PROOFWORK = str(Path(sys.executable).parent / "proofwork")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A redis-server of this test session's own, on a unix socket, nothing persisted."""
    folder = Path(tempfile.mkdtemp(prefix="pw-redis-"))
    socket_path = folder / "redis.sock"
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--unixsocket", str(socket_path), "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(unix_socket_path=str(socket_path))
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    client.close()
    yield f"redis+socket://{socket_path}"
    server.terminate()
    server.wait()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_store(empty_database: Callable[[str], str]) -> Iterator[Store]:
    """PostgreSQL with blobs in rows: the scale-out configuration."""
    url = empty_database("postgresql")
    engine = make_engine(url)
    upgrade(engine)
    yield Store(url, engine, session_factory(engine), DatabaseBlobs())
    engine.dispose()


def _settings(store: Store, redis_url: str) -> Settings:
    return load_settings(
        database_url=store.url,
        broker_url=redis_url,
        blobs="database",
        install=False,
        heartbeat_s=0.5,
        stale_after_s=3,
        worker_cores=2,
    )


def _env(settings: Settings) -> dict[str, str]:
    return {
        "PROOFWORK_DATABASE_URL": settings.database_url,
        "PROOFWORK_BROKER_URL": settings.broker_url,
        "PROOFWORK_BLOBS": "database",
        "PROOFWORK_INSTALL": "false",
        "PROOFWORK_HEARTBEAT_S": str(settings.heartbeat_s),
        "PROOFWORK_STALE_AFTER_S": str(settings.stale_after_s),
        "PROOFWORK_WORKER_CORES": "2",
    }


def _worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **_env(settings)}
    with log.open("ab") as sink:
        # A session of its own: killing the group is losing the machine, pool threads and all.
        return subprocess.Popen(
            [PROOFWORK, "worker"], env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _events(store: Store, run_id: str) -> list[tuple[int, str, str]]:
    with unit_of_work(store.factory) as session:
        rows = session.scalars(
            select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.id)
        )
        return [(e.attempt, e.kind, e.name) for e in rows]


def _wait_for(predicate: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"the worker exited: {log.read_text()}")
        assert time.monotonic() < deadline, f"timed out; the worker said: {log.read_text()}"
        time.sleep(0.1)


def test_a_message_for_a_run_that_is_not_queued_does_nothing(
    fresh_store: Store, enqueue: Enqueue, redis_url: str
) -> None:
    run_id = enqueue()
    settings = _settings(fresh_store, redis_url)
    runtime = distributed.Runtime(settings)
    with unit_of_work(fresh_store.factory) as session:
        session.get_one(distributed.Run, run_id).state = RunState.CANCELLED
    assert distributed.handle(runtime, run_id) == "not queued"
    assert distributed.handle(runtime, "no-such-run") == "gone"
    assert runtime.budget.free == 2
    runtime.close()


def test_the_sweep_rings_once_for_a_run_nobody_rang_for(
    fresh_store: Store, enqueue: Enqueue, redis_url: str
) -> None:
    run_id = enqueue()
    settings = _settings(fresh_store, redis_url)
    app = distributed.create_celery(settings)
    client = redis.Redis.from_url(redis_url.replace("redis+socket://", "unix://"))
    before = client.llen("celery")
    assert distributed.sweep(app, fresh_store.factory, settings) == [run_id]
    assert distributed.sweep(app, fresh_store.factory, settings) == []
    assert client.llen("celery") == before + 1
    client.delete("celery")
    client.close()
    app.close()


@pytest.mark.slow
def test_kill_9_of_a_celery_worker_mid_grade_then_a_restart_ends_every_run_done_once(
    fresh_store: Store, enqueue: Enqueue, redis_url: str, tmp_path: Path
) -> None:
    settings = _settings(fresh_store, redis_url)
    log = tmp_path / "worker.log"
    runs = [enqueue(archive=tiny_archive(delay_s=4)) for _ in range(2)]
    distributed.dispatch(distributed.create_celery(settings), fresh_store.factory, runs)
    first = _worker(settings, log)
    try:
        _wait_for(
            lambda: all((1, "probe-start", "tests") in _events(fresh_store, r) for r in runs),
            first,
            log,
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert all(run_row(fresh_store, r).state == RunState.RUNNING for r in runs)
    second = _worker(settings, log)
    try:
        _wait_for(lambda: all(run_row(fresh_store, r).state.finished for r in runs), second, log)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    for run_id in runs:
        run = run_row(fresh_store, run_id)
        assert (run.state, run.attempts) == (RunState.DONE, 2), run.reason
        assert run.report_sha256 is not None
        ends = [e for e in _events(fresh_store, run_id) if e[1:] == ("probe-end", "tests")]
        assert ends == [(2, "probe-end", "tests")]


@pytest.mark.slow
def test_a_submission_uploaded_through_the_api_is_graded_by_celery_like_the_cli(
    fresh_store: Store, redis_url: str, unused_port: int, tmp_path: Path
) -> None:
    """The scale-out path end to end: the API (serve, no embedded workers) on PostgreSQL rings
    Celery, a `proofwork worker` grades; the report equals a CLI grade of the same archive."""
    with unit_of_work(fresh_store.factory) as session:
        org = admin.create_org(session=session, name="Acme")
        user = admin.create_user(session=session, org=org, email="a@acme.test", role=Role.OWNER)
        token = admin.create_token(session=session, org=org, role=Role.OWNER, user=user)[1]
    settings = _settings(fresh_store, redis_url)
    log = tmp_path / "processes.log"
    worker = _worker(settings, log)
    with log.open("ab") as sink:
        server = subprocess.Popen(
            [PROOFWORK, "serve", "--port", str(unused_port), "--workers", "0"],
            env={**os.environ, **_env(settings)}, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{unused_port}/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    try:
        _wait_for(lambda: _answers(client), server, log)
        assessment = client.post("/assessments", json={"title": "Generic round"})
        assert assessment.status_code == 201, assessment.text
        files = {"file": ("work.tar.gz", tiny_archive(), "application/gzip")}
        fields = {"probes": "tests", "assessment_id": assessment.json()["id"]}
        created = client.post("/submissions", files=files, data=fields)
        assert created.status_code == 201, created.text
        run_id = created.json()["run"]["id"]
        _wait_for(lambda: run_row(fresh_store, run_id).state.finished, worker, log)
        run = client.get(f"/runs/{run_id}").json()
        assert run["state"] == "done" and run["attempts"] == 1, run
        report = client.get(f"/runs/{run_id}/report").json()
        with unit_of_work(fresh_store.factory) as session:  # fingerprinted by the worker too
            prints = session.get(SubmissionFingerprint, created.json()["id"])
            assert prints is not None and prints.count > 0
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        worker.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        worker.wait(timeout=60)
    archive = tmp_path / "work.tar.gz"
    archive.write_bytes(tiny_archive())
    direct = engine.grade(
        engine.GradeRequest(source=archive, settings=load_settings(install=False), probes=["tests"])
    )
    assert comparable(report) == comparable(direct.to_json())


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/health").status_code == 200
    except httpx.TransportError:
        return False
