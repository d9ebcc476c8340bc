"""Run a real harness job (its own network namespace, the real sandbox) against the fake shop
in `fake_shop.py`, for the faults, durability and operability tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import proofwork.challenges
from proofwork.harness.job import DATA, Job, ServiceSpec
from proofwork.sandbox import BwrapSandbox, Limits

PACK_CHECKS = Path(proofwork.challenges.__file__).parent / "packs" / "orders-api" / "checks"
FAKE_SHOP = Path(__file__).with_name("fake_shop.py")


def shop_job(
    sandbox: BwrapSandbox,
    kind: str,
    options: dict[str, Any],
    *,
    flaws: tuple[str, ...] = (),
    deadline_s: float = 60.0,
    shutdown_s: float = 3.0,
    pay_timeout_s: float = 1.0,
) -> Job:
    """A job for `kind` against the fake shop with the given flaws, in `sandbox`."""
    workspace = sandbox.workspace
    shutil.copy(FAKE_SHOP, workspace / "shop.py")
    data = workspace.parent / "data"
    data.mkdir(exist_ok=True)
    job = Job(
        kind=kind,
        backend="bwrap",
        uid=sandbox.uid,
        workspace=str(workspace),
        state_dir=str(sandbox.state_dir),
        data_dir=str(data),
        results=str(workspace.parent / f"{kind}-results.json"),
        service=ServiceSpec(
            start="exec /usr/bin/python3.11 shop.py",
            startup_timeout_s=10.0,
            shutdown_timeout_s=shutdown_s,
        ),
        env={"FLAWS": ",".join(flaws), "PAY_TIMEOUT_S": str(pay_timeout_s)},
        mounts=[(str(data), DATA, True)],
        limits=asdict(Limits(wall_s=deadline_s)),
        checks_dir=str(PACK_CHECKS),
        deadline_s=deadline_s,
        options=options,
    )
    job.write(workspace.parent / f"{kind}-job.json")
    return job


def run_job(job: Job) -> dict[str, Any]:
    """Run the harness process as a probe would (unshare --net) and return its results."""
    path = Path(job.workspace).parent / f"{job.kind}-job.json"
    done = subprocess.run(
        ["unshare", "--net", "--", sys.executable, "-m", "proofwork.harness", str(path)],
        capture_output=True,
        text=True,
        timeout=job.deadline_s + 30,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results: dict[str, Any] = json.loads(Path(job.results).read_text())
    assert "error" not in results, results.get("traceback")
    return results
