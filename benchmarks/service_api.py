"""The service under load: list and read runs with 10,000 in the store, and the queue's latency.

For SQLite and for PostgreSQL (a throwaway server, as the tests start one): seed 10,000 runs,
start `proofwork serve --workers 0 --api-processes N` (the API only), and from a second process
(wrk, `service_api.lua`) drive it with 50 connections on loopback, each request at random a
page of runs (50, filtered by state) or one run, with the bearer token; print p50/p99 (target
p99 < 100 ms) and the server's CPU time per request (all its processes; it does not depend on
the load). Then, on the embedded default, start `proofwork serve` with its workers and time 20
runs from `POST /runs` to a worker starting them (started_at - created_at; target p95 < 1 s).

    .venv/bin/python benchmarks/service_api.py [--seconds 15] [--clients 50] [--api-processes 2]
"""

from __future__ import annotations

import argparse
import contextlib
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
    # The planner's statistics, as PostgreSQL's autovacuum (and SQLite's optimize) would have
    # them in a store that grew to this size over time rather than in one bulk insert.
    with engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    engine.dispose()
    return token, [row["id"] for row in rows]


@contextmanager
def serving(
    env: dict[str, str], port: int, workers: int, api_processes: int = 1
) -> Iterator[tuple[str, int]]:
    """`proofwork serve` on loopback until the block ends; its base URL and pid."""
    argv = [
        PROOFWORK, "serve", "--port", str(port), "--workers", str(workers),
        "--api-processes", str(api_processes),
    ]  # fmt: skip
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
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=60)


LUA = HERE / "service_api.lua"


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process and its live children have used."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:  # it ended meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
        pending += [int(child) for child in children]
    return total


def machine_ticks() -> list[int]:
    """The machine's CPU time so far by kind (/proc/stat: user, nice, system, idle, ..., steal)."""
    return [int(field) for field in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]


def stolen_share(before: list[int], after: list[int]) -> float:
    """The share of the cores' time the hypervisor gave to other machines meanwhile (steal):
    on a shared host the same work costs more, and waits longer, while it is high."""
    spent = [b - a for a, b in zip(before, after, strict=True)]
    return spent[7] / max(1, sum(spent[:8]))


WRK_NICE = -10


def _before_wrk() -> None:
    # The load generator shares the two cores with the server it measures. At the same
    # priority its threads wait behind the server's busy processes for a core, and that wait
    # lands in the latencies it records (p99 up to 3x at the same server-side times); ahead of
    # them it measures the server, as on a machine of its own.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, WRK_NICE)


def load(
    base: str, token: str, run_ids: list[str], clients: int, seconds: float
) -> dict[str, float]:
    """Drive the API from a second process (wrk); its figures (latencies in µs)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as ids:
        ids.write("\n".join(random.sample(run_ids, min(500, len(run_ids)))) + "\n")
        ids.flush()
        argv = [
            "wrk", f"-c{clients}", f"-t{min(2, clients)}", f"-d{seconds:g}s", "--timeout", "10s",
            "-s", str(LUA), base,
        ]  # fmt: skip
        env = {**os.environ, "PW_BENCH_IDS": ids.name, "PW_BENCH_TOKEN": token}
        result = subprocess.run(
            argv, env=env, capture_output=True, text=True, check=True, preexec_fn=_before_wrk
        )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    if figures["non_2xx"] or figures["socket_errors"]:
        raise RuntimeError(f"the API answered errors under load: {figures}")
    return figures


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of them fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def api_latency(backend: str, url: str, env: dict[str, str], args: argparse.Namespace) -> bool:
    token, run_ids = seed(url, RUNS)
    server_env = {**env, "PROOFWORK_DATABASE_URL": url}
    with serving(server_env, args.port, workers=0, api_processes=args.api_processes) as server:
        base, pid = server
        load(base, token, run_ids, args.clients, 2)  # warm up
        cpu_before, ticks_before = server_cpu_s(pid), machine_ticks()
        figures = load(base, token, run_ids, args.clients, args.seconds)
        cpu_ms = (server_cpu_s(pid) - cpu_before) * 1000 / figures["requests"]
        stolen = stolen_share(ticks_before, machine_ticks())
    p50, p90 = figures["p50_us"] / 1000, figures["p90_us"] / 1000
    p99, peak = figures["p99_us"] / 1000, figures["max_us"] / 1000
    rate = figures["requests"] / (figures["duration_us"] / 1e6)
    met = p99 < TARGET_P99_MS
    print(
        f"{backend:10} {figures['requests']:6.0f} requests ({figures['lists']:.0f} lists, "
        f"{figures['reads']:.0f} reads)  p50 {p50:6.1f} ms  p90 {p90:6.1f} ms  p99 {p99:6.1f} ms  "
        f"max {peak:5.0f} ms  {rate:5.0f}/s  server CPU {cpu_ms:.2f} ms/request  "
        f"steal {stolen:.0%}  target p99 < {TARGET_P99_MS:.0f} ms: "
        f"{'met' if met else 'MISSED'}"
    )
    return met


def queue_latency(env: dict[str, str], args: argparse.Namespace) -> bool:
    """POST /runs → a worker starts it, 20 times, one at a time, on the embedded backend."""
    folder = Path(tempfile.mkdtemp(prefix="pw-bench-queue-"))
    url = f"sqlite:///{folder / 'store.db'}"
    token, run_ids = seed(url, 0)
    del run_ids
    archive = _tiny_archive(folder)
    waits = []
    with serving({**env, "PROOFWORK_DATABASE_URL": url}, args.port, workers=2) as (base, _):
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
    parser.add_argument(
        "--api-processes", type=int, default=2, help="proofwork serve --api-processes"
    )
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgresql", "queue"],
        help="measure only these (repeatable; all three by default)",
    )  # fmt: skip
    args = parser.parse_args()
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {RUNS} runs in the "
        f"store; {args.clients} connections (wrk, "
        f"{f'nice {WRK_NICE}' if os.geteuid() == 0 else 'same priority as the server: not root'}"
        f"); {args.api_processes} API processes"
    )
    env = {"PROOFWORK_BLOBS": "database", "PROOFWORK_INSTALL": "false"}
    chosen = set(args.backend or ["sqlite", "postgresql", "queue"])
    ok = True
    if "sqlite" in chosen:
        folder = Path(tempfile.mkdtemp(prefix="pw-bench-"))
        ok &= api_latency("sqlite", f"sqlite:///{folder / 'store.db'}", env, args)
        shutil.rmtree(folder, ignore_errors=True)
    if "postgresql" in chosen:
        server = PostgresServer()
        server.start()
        try:
            ok &= api_latency("postgresql", server.create_database("bench"), env, args)
        finally:
            server.stop()
    if "queue" in chosen:
        ok &= queue_latency(env, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
