"""The service under load: list and read runs with 10,000 in the store, and the queue's latency.

For SQLite and for PostgreSQL (a throwaway server, as the tests start one): seed 10,000 runs,
start `proofwork serve --workers 0` (the API only), and from a second process drive it with
50 concurrent clients on loopback, half listing runs (a page of 50, filtered by state) and half
reading one run; print p50/p99 per kind (target p99 < 100 ms). Then, on the embedded default,
start `proofwork serve` with its workers and time 20 runs from `POST /runs` to a worker
starting them (the run's started_at - created_at; target p95 < 1 s).

    .venv/bin/python benchmarks/service_api.py [--seconds 15] [--clients 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import insert

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from databases import PostgresServer  # noqa: E402 - the tests' throwaway PostgreSQL

from proofwork.store import DatabaseBlobs, make_engine, session_factory, upgrade  # noqa: E402
from proofwork.store.database import unit_of_work  # noqa: E402
from proofwork.store.models import Role, Run, RunState, Submission, new_id, utcnow  # noqa: E402
from proofwork.web import admin  # noqa: E402

PROOFWORK = str(Path(sys.executable).parent / "proofwork")
RUNS = 10_000
TARGET_P99_MS, TARGET_QUEUE_P95_S = 100.0, 1.0


def seed(url: str, runs: int) -> tuple[str, list[str]]:
    """An organisation with `runs` runs of one submission; its owner token and the run ids."""
    engine = make_engine(url)
    upgrade(engine)
    with unit_of_work(session_factory(engine)) as session:
        org = admin.create_org(session=session, name="Bench")
        user = admin.create_user(session=session, org=org, email="b@bench.test", role=Role.OWNER)
        _, token = admin.create_token(session=session, org=org, role=Role.OWNER, user=user)
        blob = DatabaseBlobs().put(session, [b"not graded in this benchmark"])
        submission = Submission(org_id=org.id, sha256=blob.sha256, size=blob.size, origin="upload")
        session.add(submission)
        session.flush()
        states = [RunState.DONE, RunState.FAILED, RunState.QUEUED, RunState.CANCELLED]
        rows = [
            {
                "id": new_id(), "org_id": org.id, "submission_id": submission.id,
                "state": states[i % 4], "created_at": utcnow(), "queued_at": utcnow(),
                "cores": 1, "attempts": 1,
            }
            for i in range(runs)
        ]  # fmt: skip
        if rows:
            session.execute(insert(Run), rows)
    engine.dispose()
    return token, [row["id"] for row in rows]


@contextmanager
def serving(env: dict[str, str], port: int, workers: int) -> Iterator[str]:
    """`proofwork serve` on loopback until the block ends; its base URL."""
    argv = [PROOFWORK, "serve", "--port", str(port), "--workers", str(workers)]
    process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/api/v1/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


async def _client(
    base: str, token: str, run_ids: list[str], until: float, out: dict[str, list[float]]
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            kind = random.choice(("list", "read"))  # noqa: S311 - a load mix, not a secret
            url = (
                "/api/v1/runs?limit=50&state=done"
                if kind == "list"
                else f"/api/v1/runs/{random.choice(run_ids)}"  # noqa: S311
            )
            started = time.perf_counter()
            response = await client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            out[kind].append(elapsed)


async def _drive(base: str, token: str, run_ids: list[str], clients: int, seconds: float) -> None:
    out: dict[str, list[float]] = {"list": [], "read": []}
    until = time.monotonic() + seconds
    await asyncio.gather(*(_client(base, token, run_ids, until, out) for _ in range(clients)))
    print(json.dumps(out))


def load(
    base: str, token: str, run_ids: list[str], clients: int, seconds: float
) -> dict[str, list[float]]:
    """Drive the API from a second process; the latencies (ms) by kind."""
    sample = random.sample(run_ids, 500)
    code = (
        "import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); import service_api as b; "
        "asyncio.run(b._drive(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), "
        "int(sys.argv[5]), float(sys.argv[6])))"
    )
    argv = [
        sys.executable,
        "-c",
        code,
        str(HERE),
        base,
        token,
        json.dumps(sample),
        str(clients),
        str(seconds),
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    figures: dict[str, list[float]] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of them fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def api_latency(backend: str, url: str, env: dict[str, str], args: argparse.Namespace) -> bool:
    token, run_ids = seed(url, RUNS)
    with serving({**env, "PROOFWORK_DATABASE_URL": url}, args.port, workers=0) as base:
        load(base, token, run_ids, args.clients, 2)  # warm up
        figures = load(base, token, run_ids, args.clients, args.seconds)
    ok = True
    for kind, values in figures.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        met = p99 < TARGET_P99_MS
        ok &= met
        print(
            f"{backend:10} {kind:4} {len(values):6} requests  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  ({len(values) / args.seconds:5.0f}/s)  target p99 < {TARGET_P99_MS:.0f} ms: "
            f"{'met' if met else 'MISSED'}"
        )
    return ok


def queue_latency(env: dict[str, str], args: argparse.Namespace) -> bool:
    """POST /runs → a worker starts it, 20 times, one at a time, on the embedded backend."""
    folder = Path(tempfile.mkdtemp(prefix="pw-bench-queue-"))
    url = f"sqlite:///{folder / 'store.db'}"
    token, run_ids = seed(url, 0)
    del run_ids
    archive = _tiny_archive(folder)
    waits = []
    with serving({**env, "PROOFWORK_DATABASE_URL": url}, args.port, workers=2) as base:
        headers = {"Authorization": f"Bearer {token}"}
        with archive.open("rb") as handle:
            files = {"file": ("tiny.tar.gz", handle, "application/gzip")}
            created = httpx.post(f"{base}/api/v1/submissions", headers=headers, files=files,
                                 data={"probes": "static"}, timeout=60).json()  # fmt: skip
        _wait_done(base, headers, created["run"]["id"])
        for _ in range(20):
            body = {"submission_id": created["id"], "probes": ["static"]}
            run = httpx.post(f"{base}/api/v1/runs", headers=headers, json=body, timeout=60).json()
            done = _wait_done(base, headers, run["id"])
            waits.append(_seconds(done["started_at"]) - _seconds(done["created_at"]))
    shutil.rmtree(folder, ignore_errors=True)
    p50, p95 = percentile(waits, 0.5), percentile(waits, 0.95)
    met = p95 < TARGET_QUEUE_P95_S
    print(
        f"queue      POST /runs → a worker starts it: {len(waits)} runs  p50 {p50 * 1000:5.0f} ms"
        f"  p95 {p95 * 1000:5.0f} ms  target p95 < 1 s: {'met' if met else 'MISSED'}"
    )
    return met


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _wait_done(base: str, headers: dict[str, str], run_id: str) -> dict[str, str]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        run: dict[str, str] = httpx.get(f"{base}/api/v1/runs/{run_id}", headers=headers).json()
        if run["state"] in ("done", "failed", "cancelled"):
            return run
        time.sleep(0.1)
    raise TimeoutError(run_id)


def _tiny_archive(folder: Path) -> Path:
    import tarfile

    source = folder / "tiny"
    source.mkdir()
    (source / "tiny.py").write_text("def add(a, b):\n    return a + b\n")
    path = folder / "tiny.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname="tiny")
    return path


def main() -> int:
    """Print the figures; 0 when every target is met."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {RUNS} runs in the store"
    )
    env = {"PROOFWORK_BLOBS": "database", "PROOFWORK_INSTALL": "false"}
    folder = Path(tempfile.mkdtemp(prefix="pw-bench-"))
    ok = api_latency("sqlite", f"sqlite:///{folder / 'store.db'}", env, args)
    server = PostgresServer()
    server.start()
    try:
        ok &= api_latency("postgresql", server.create_database("bench"), env, args)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    ok &= queue_latency(env, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
