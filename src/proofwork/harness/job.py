"""What the grader asks of a harness process: a job, written as JSON, and its results.

The harness runs as a separate process in a network namespace of its own (loopback only).
It starts the fake upstreams, starts the candidate's service inside the sandbox sharing that
namespace, drives it, and writes results back as JSON. Nothing of the host network is in it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from proofwork.sandbox.base import Limits, Mount

SERVICE_PORT = 8000
COMPANION_PORT = 8001  # the reference's service, when a load job compares it interleaved
PROVIDER_PORT = 9100
DATA = "/data"


@dataclass(frozen=True)
class ServiceSpec:
    start: str
    health_path: str = "/healthz"
    startup_timeout_s: float = 30.0
    shutdown_timeout_s: float = 10.0


@dataclass(frozen=True)
class Companion:
    """The pack's reference service, run beside the submission's in the same job so a load
    job can measure both in alternating slices (the same moments of the same machine)."""

    workspace: str
    start: str
    env: dict[str, str]
    mounts: list[tuple[str, str, bool]]
    concurrency: int  # where the reference's throughput peaks (from its kept figure)


@dataclass
class Job:
    kind: str  # a key of harness.__main__.KINDS: acceptance, load, faults, durability …
    backend: str  # sandbox backend: "bwrap" or "none"
    uid: int
    workspace: str
    state_dir: str
    data_dir: str
    results: str
    service: ServiceSpec
    env: dict[str, str]
    mounts: list[tuple[str, str, bool]]
    limits: dict[str, Any]
    checks_dir: str = ""
    only: list[str] = field(default_factory=list)
    deadline_s: float = 240.0
    cpus: dict[str, str] = field(default_factory=dict)  # "service" / "harness" -> cpu list
    options: dict[str, Any] = field(default_factory=dict)  # what a kind of job needs (load.toml …)
    # What the submission is: "service" (its start command is service.start) or "job" (a batch
    # command, service.start being its run command, run by harness/batch.py).
    target: str = "service"
    companion: Companion | None = None

    def write(self, path: Path) -> None:
        """Save for the harness process."""
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def read(cls, path: Path) -> Job:
        """Load what the grader wrote."""
        data = json.loads(path.read_text())
        data["service"] = ServiceSpec(**data["service"])
        data["mounts"] = [tuple(m) for m in data["mounts"]]
        if data.get("companion"):
            companion = data["companion"]
            companion["mounts"] = [tuple(m) for m in companion["mounts"]]
            data["companion"] = Companion(**companion)
        return cls(**data)

    def for_companion(self) -> Job:
        """This job as the companion's service sees it: its workspace, command, environment
        and mounts (same uid, limits and cores)."""
        if self.companion is None:
            raise ValueError("the job has no companion service")
        c = self.companion
        service = replace(self.service, start=c.start)
        return replace(
            self, workspace=c.workspace, service=service, env=c.env, mounts=c.mounts, companion=None
        )

    def sandbox_mounts(self) -> tuple[Mount, ...]:
        """Mounts for the service: the runtime (read-only) and DATA_DIR (writable)."""
        return tuple(Mount(Path(src), dst, writable) for src, dst, writable in self.mounts)

    def sandbox_limits(self) -> Limits:
        """The service's limits."""
        return Limits(**self.limits)
