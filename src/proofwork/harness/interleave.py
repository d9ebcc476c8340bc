"""The submission's service and the pack's reference measured in alternating slices.

A throughput figure from one minute on a shared host says as much about that minute as about
the code: on our build machines the same service, loaded the same way, reads 660 good
requests per second in one run and 980 in the next, and core shares and speed watchers explain
only part of it. Dividing by a reference figure measured at another moment carries that noise
into the ratio. Measured in turns a second apart, both services see the same moments of the
same machine, and the ratio of their throughputs keeps the code's difference and little else
(interleaved trials, as cloud benchmarking does it).

After the submission's ramp, the reference's service (the job's companion) is started beside
it, on its own port, with data of its own made the same way. Then each round gives each
service one slice, the order swapped every round so neither always follows the other. Both
are loaded by as many users as the reference peaks at (its kept figure says where): the same
traffic for both, so a service that peaks earlier and slows down under more users shows it,
and a noisy ramp of the submission cannot pick a worse concurrency for it. Only the service
whose slice it is runs: the other is paused (SIGSTOP on every process of it), so it can
neither take the core nor send anything. Before the reference is let run, the harness looks
for any connection to the reference's port from the sandbox's uid: only the harness talks to
the reference, so one from the submission's service would be an attempt to slow it down, and
the comparison is dropped.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofwork.harness.job import COMPANION_PORT, Job
from proofwork.harness.loadgen import Generator, Step
from proofwork.harness.service import ServiceControl, ServiceError

ROUNDS = 12
SLICE_S = 1.0
SLICE_WARMUP_S = 0.25
TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


@dataclass(frozen=True)
class Turn:
    """Who a slice belongs to: its service and the generator that loads it."""

    name: str
    service: ServiceControl
    generator: Generator


def best_concurrency(steps: list[dict[str, Any]]) -> int:
    """The concurrency of the step with the most good answers per second (1 without steps)."""
    best = max(steps, key=lambda s: s["throughput_rps"], default=None)
    return int(best["concurrency"]) if best else 1


def connections_to(port: int, uid: int, tables: tuple[str, ...] = TCP_TABLES) -> int:
    """Sockets of `uid` in this network namespace connected (or connecting) to `port` on
    this host: /proc/net/tcp's remote port, and the uid that made the socket."""
    found = 0
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 7 and fields[2].rsplit(":", 1)[-1] == f"{port:04X}":
                found += int(fields[7]) == uid
    return found


def rounds(count: int) -> Iterator[bool]:
    """For each round, whether the reference goes first: every other round, from the first."""
    for number in range(count):
        yield number % 2 == 0


async def alternate(
    ours: Turn,
    theirs: Turn,
    job: Job,
    concurrency: int,
    count: int = ROUNDS,
    slice_s: float = SLICE_S,
    warmup_s: float = SLICE_WARMUP_S,
) -> dict[str, Any]:
    """`count` rounds of one slice each, both at `concurrency`; both services paused before
    and after. The figures of every slice, and why the comparison stopped early (if it did)."""
    slices: list[dict[str, Any]] = []
    try:
        for reference_first in rounds(count):
            for turn in (theirs, ours) if reference_first else (ours, theirs):
                if turn is theirs and connections_to(COMPANION_PORT, job.uid):
                    return {"slices": slices, "tampered": True}
                turn.service.resume()
                try:
                    step = await turn.generator.step(concurrency, warmup_s, slice_s)
                finally:
                    paused = turn.service.pause()
                if not paused:
                    return {"slices": slices, "error": f"the {turn.name} service did not pause"}
                slices.append(slice_figures(turn.name, step))
    finally:
        ours.generator.close()
        theirs.generator.close()
    return {"slices": slices}


def slice_figures(name: str, step: Step) -> dict[str, Any]:
    """What a slice's results keep."""
    return {
        "service": name,
        "concurrency": step.concurrency,
        "throughput_rps": step.throughput_rps,
        "p95_ms": step.p95_ms,
        "errors": step.errors,
    }


def ratio(slices: list[dict[str, Any]]) -> float | None:
    """The submission's throughput over the reference's: the median of each round's ratio,
    so one disturbed round does not move it (None when no round has both figures)."""
    ours = [s["throughput_rps"] for s in slices if s["service"] == "submission"]
    theirs = [s["throughput_rps"] for s in slices if s["service"] == "reference"]
    pairs = [o / t for o, t in zip(ours, theirs, strict=False) if t > 0]
    return round(statistics.median(pairs), 3) if pairs else None


def compare(
    job: Job,
    service: ServiceControl,
    companion: ServiceControl,
    prepare: Callable[[], dict[str, Any]],
    generators: tuple[Generator, Generator],
    concurrency: int,
    count: int = ROUNDS,
    slice_s: float = SLICE_S,
) -> dict[str, Any]:
    """Pause the submission's service, start the companion beside it (`prepare`: start it and
    make its data) and alternate, both loaded by `generators` (the submission's first) at
    `concurrency`. Afterwards the companion is gone and the submission's service runs
    again."""
    if not service.pause():
        return {"error": "the service could not be paused, so it was not measured in turns"}
    try:
        setup = prepare()
        if not companion.pause():
            return {"error": "the reference's service could not be paused"}
        ours = Turn("submission", service, generators[0])
        theirs = Turn("reference", companion, generators[1])
        results = asyncio.run(alternate(ours, theirs, job, concurrency, count, slice_s))
    except ServiceError as exc:
        return {"error": f"the reference's service: {exc}"}
    finally:
        companion.close()
        service.resume()
    results["ratio"] = None if "tampered" in results else ratio(results["slices"])
    results["concurrency"] = concurrency
    results["setup"] = setup
    return results
