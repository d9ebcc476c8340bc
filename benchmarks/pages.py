"""The hiring pages with 2,000 candidates in an assessment: dashboard, pipeline and compare.

Seed an embedded store (SQLite, blobs in the store) with an orders-api assessment of 2,000
candidates at every stage: invitations, opened links, runs with their reports and summaries
(built from the pack's real signals and acceptance rules), two or three submitted scorecards
on the reviewed ones, decisions. Start `proofwork serve --workers 0`; from a second process,
sign in through the sign-in form and request, over loopback with that session, each page in
turn: the dashboard, the pipeline (a random sort key, a random page) and the compare view of
five graded candidates; print p50/p95 per page (target p95 < 150 ms) and the server's CPU time
per request (which a busy shared machine disturbs less than the latencies). One signed-in
client by default, as one member of a hiring team browses; `--clients N` runs N at once.

    .venv/bin/python benchmarks/pages.py [--seconds 15] [--clients 1] [--candidates 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests" / "web"), str(HERE)]

from hiring_support import Graded, add_candidate, build_report, hiring_assessment  # noqa: E402
from service_api import percentile, server_cpu_s, serving  # noqa: E402

from proofwork.challenges import HUMAN_SIGNALS  # noqa: E402
from proofwork.config import load_settings  # noqa: E402
from proofwork.store import blob_store, engine_for, session_factory, upgrade  # noqa: E402
from proofwork.store.database import unit_of_work  # noqa: E402
from proofwork.store.models import Outcome, Role, RunState  # noqa: E402
from proofwork.web import admin  # noqa: E402
from proofwork.web.hiring.repository import SORTS  # noqa: E402
from proofwork.web.pages.session import hash_password  # noqa: E402

TARGET_P95_MS = 150.0
PAGES = ("dashboard", "pipeline", "compare")
EMAIL, PASSWORD = "owner@bench.test", "a bench password, long enough"
# Where candidates stand: most were graded, fewer reviewed and decided, some never started.
STAGES = [("invited", 0.1), ("started", 0.1), ("running", 0.05), ("graded", 0.35),
          ("reviewed", 0.25), ("decided", 0.15)]  # fmt: skip
VARIANTS = 40  # distinct reports; each run's report is one of them (blobs are shared by hash)
ARTIFACT_KB = 24  # per probe, as a real report's logs and tool output make it a few 100 KiB


def seed(env: dict[str, str], candidates: int, rng: random.Random) -> tuple[str, list[str]]:
    """The bench organisation with one assessment of `candidates`; its id and the ids of the
    graded candidates."""
    settings = load_settings(**{k.removeprefix("PROOFWORK_").lower(): v for k, v in env.items()})
    engine = engine_for(settings)
    upgrade(engine)
    blobs = blob_store(settings)
    reports: list[Graded] = [
        build_report(rng, quality=rng.random(), artifact_kb=ARTIFACT_KB) for _ in range(VARIANTS)
    ]
    graded: list[str] = []
    with unit_of_work(session_factory(engine)) as session:
        org = admin.create_org(session=session, name="Bench")
        owner = admin.create_user(session=session, org=org, email=EMAIL, role=Role.OWNER)
        owner.password_hash = hash_password(PASSWORD)
        reviewers = [
            admin.create_user(session=session, org=org, email=f"r{i}@bench.test",
                              role=Role.REVIEWER).id
            for i in range(3)
        ]  # fmt: skip
        for title in ("Autumn round", "Winter round"):
            hiring_assessment(session, org.id, title)
        assessment = hiring_assessment(session, org.id, "Backend hire")
        stages, weights = zip(*STAGES, strict=True)
        for i in range(candidates):
            stage = rng.choices(stages, weights)[0]
            done = stage in ("graded", "reviewed", "decided")
            reviews = [
                (r, {name: rng.randrange(5) for name in HUMAN_SIGNALS})
                for r in rng.sample(reviewers, rng.choice((2, 3)))
            ] if stage in ("reviewed", "decided") else []  # fmt: skip
            candidate = add_candidate(
                session, blobs, assessment, f"Candidate {i:04} {rng.choice('ABCDEFGH')}",
                opened=stage != "invited",
                run_state=RunState.RUNNING if stage == "running" else None,
                graded=rng.choice(reports) if done else None, reviews=reviews,
                outcome=rng.choice(list(Outcome)) if stage == "decided" else None,
            )  # fmt: skip
            if done:
                graded.append(candidate.id)
        assessment_id = assessment.id
    engine.dispose()
    return assessment_id, graded


def sign_in(client: httpx.Client) -> None:
    """Sign in through the form, as a browser does (the CSRF token from the page)."""
    page = client.get("/sign-in")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token, "no CSRF token on the sign-in page"
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": token[1], "next": "/"}
    answer = client.post("/sign-in", data=form)
    assert answer.status_code == 303, f"sign-in failed: {answer.status_code} {answer.text[:300]}"


def _url(kind: str, assessment_id: str, graded: list[str], rng: random.Random) -> str:
    if kind == "dashboard":
        return "/assessments"
    if kind == "pipeline":
        sort = rng.choice([*SORTS, *(f"-{s}" for s in SORTS)])
        page = rng.randint(1, max(len(graded) // 50, 1))
        return f"/assessments/{assessment_id}?sort={sort}&page={page}"
    chosen = "&".join(f"c={c}" for c in rng.sample(graded, 5))
    return f"/assessments/{assessment_id}/compare?{chosen}"


def _drive(
    base: str, kind: str, assessment_id: str, graded: list[str], clients: int, seconds: float
) -> None:
    """The second process: `clients` threads, each its own signed-in session, requesting
    `kind` pages for `seconds`; prints the latencies (ms)."""
    out: list[float] = []
    lock = threading.Lock()

    def one() -> None:
        rng = random.Random()  # noqa: S311 - a request mix, not a secret
        with httpx.Client(base_url=base, timeout=30) as client:
            sign_in(client)
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                url = _url(kind, assessment_id, graded, rng)
                started = time.perf_counter()
                response = client.get(url)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
                with lock:
                    out.append(elapsed)

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(out))


def load(
    base: str, kind: str, assessment_id: str, graded: list[str], clients: int, seconds: float
) -> list[float]:
    """Request one kind of page from a second process; the latencies (ms)."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import pages as b; "
        "b._drive(sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5]), "
        "int(sys.argv[6]), float(sys.argv[7]))"
    )
    argv = [sys.executable, "-c", code, str(HERE), base, kind, assessment_id,
            json.dumps(graded), str(clients), str(seconds)]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"the client process failed:\n{result.stderr[-3000:]}")
    latencies: list[float] = json.loads(result.stdout.strip().splitlines()[-1])
    return latencies


def main() -> int:
    """Print the figures; 0 when every page meets the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per page")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--port", type=int, default=18766)
    args = parser.parse_args()
    with open("/proc/loadavg") as handle:
        loadavg = handle.read().split()[:3]
    print(f"load average {' '.join(loadavg)} on {os.cpu_count()} cores (uptime's figures)")
    home = Path(tempfile.mkdtemp(prefix="pw-bench-pages-"))
    env = {"PROOFWORK_HOME": str(home), "PROOFWORK_BLOBS": "database",
           "PROOFWORK_INSTALL": "false"}  # fmt: skip
    try:
        started = time.monotonic()
        assessment_id, graded = seed(env, args.candidates, random.Random(2026))  # noqa: S311
        print(f"seeded {args.candidates} candidates ({len(graded)} graded) in "
              f"{time.monotonic() - started:.0f} s")  # fmt: skip
        ok = True
        with serving(env, args.port, workers=0) as (base, pid):
            for kind in PAGES:
                load(base, kind, assessment_id, graded, args.clients, 2)  # warm up
                cpu = server_cpu_s(pid)
                values = load(base, kind, assessment_id, graded, args.clients, args.seconds)
                cpu_ms = (server_cpu_s(pid) - cpu) * 1000 / len(values)
                p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
                met = p95 < TARGET_P95_MS
                ok &= met
                print(
                    f"{kind:9} {len(values):5} requests  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                    f"server CPU {cpu_ms:5.1f} ms/request  ({args.clients} client(s))  "
                    f"target p95 < {TARGET_P95_MS:.0f} ms: {'met' if met else 'MISSED'}"
                )
        with open("/proc/loadavg") as handle:
            print(f"load average afterwards {' '.join(handle.read().split()[:3])}")
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
