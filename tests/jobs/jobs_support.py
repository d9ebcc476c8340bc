"""Helpers for the queue tests: a tiny generic project as an archive, reading a run back."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable

from databases import Store

from proofwork.store.database import unit_of_work
from proofwork.store.models import Run

TINY = {
    "tiny.py": "def add(a, b):\n    return a + b\n",
    "tests/test_tiny.py": (
        "import time\nfrom tiny import add\n\n\ndef test_add():\n"
        "    time.sleep(float(open('delay').read()))\n    assert add(1, 2) == 3\n"
    ),
}


def tiny_archive(delay_s: float = 0.0) -> bytes:
    """A .tar.gz of a one-function project whose one test sleeps `delay_s` (to grade slowly)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, text in {**TINY, "delay": f"{delay_s}\n"}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"tiny/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


Enqueue = Callable[..., str]


def run_row(store: Store, run_id: str) -> Run:
    """The run as the store has it now."""
    with unit_of_work(store.factory) as session:
        return session.get_one(Run, run_id)


def comparable(report: dict[str, object]) -> dict[str, object]:
    """The report without what varies between two grades of the same submission."""
    # Times, the run's folder, the leased sandbox uid and where the archive was read from vary.
    varying = {"started_at", "duration_s", "environment", "sandbox"}
    probes = [{k: v for k, v in p.items() if k != "duration_s"} for p in report["probes"]]  # type: ignore[attr-defined]
    kept = {k: v for k, v in report.items() if k not in varying | {"probes", "metrics"}}
    kept["submission"] = {k: v for k, v in kept["submission"].items() if k != "source"}  # type: ignore[attr-defined]
    metrics = {
        k: v for k, v in report["metrics"].items() if "wall" not in k and "duration" not in k
    }  # type: ignore[attr-defined]
    return {
        **kept,
        "probes": [{**p, "metrics": None, "artifacts": None} for p in probes],
        "metrics": metrics,
    }
