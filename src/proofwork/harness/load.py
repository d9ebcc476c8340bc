"""Load jobs: the pack's traffic mix driven at rising concurrency against the service.

The plan comes from the pack's load.toml (job.options). The harness starts the service,
creates the data the traffic needs through the API (products, optionally orders), then steps
concurrency up (1, 2, 4 … up to the plan's cap) with the closed-loop generator of
`proofwork.harness.loadgen`: each step has a short warm-up that is not recorded and a fixed
measured duration, and reports throughput of good answers, p50/p95/p99 and its error rate.
Stepping stops early once a step is clearly past the knee, or when the job's deadline nears.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proofwork.harness.interleave import (
    ROUNDS,
    SLICE_S,
    SLICE_WARMUP_S,
    compare,
)
from proofwork.harness.job import COMPANION_PORT, Job
from proofwork.harness.loadgen import (
    Generator,
    Mix,
    RequestSpec,
    Step,
    encode,
    problem_with,
)
from proofwork.harness.provider import Latency, Provider
from proofwork.harness.service import ServiceControl, ServiceError, sandbox_for
from proofwork.harness.speed import (
    CLOCK_TICKS,
    SpeedWatch,
    fastest_bursts,
    plus_watcher,
    process_cpu_seconds,
)

VARIANTS = 64  # pre-encoded copies of each request, with different skus and customers
SCHEDULE = 4096  # length of the pre-drawn, weighted sequence of requests users walk through
CALM = 0.8  # a core's share below this means other work on the host disturbed the step


class PlanError(ValueError):
    """load.toml does not describe a usable load test; the message says what to fix."""


@dataclass(frozen=True)
class SetupSpec:
    """Data created through the API before the run, so requests have something to work on."""

    products: int = 50
    stock: int = 1_000_000
    price: str = "19.99"
    customers: int = 200
    orders: int = 0


@dataclass(frozen=True)
class LoadPlan:
    """What load.toml asks for, validated."""

    requests: tuple[RequestSpec, ...]
    setup: SetupSpec = SetupSpec()
    slo_p95_ms: float = 250.0
    max_error_rate: float = 0.01
    step_duration_s: float = 5.0
    warmup_s: float = 1.0
    max_concurrency: int = 64
    think_time_ms: float = 0.0
    request_timeout_s: float = 5.0
    # How long the upstream (the fake payment provider) takes per request under load.
    upstream_latency: Latency | None = None
    # Past the knee beyond doubt: no need to spend time on higher concurrency.
    stop_p95_factor: float = 4.0
    stop_error_rate: float = 0.10
    # Below this share of the reference's capacity on the same machine, the probe says so.
    min_relative_capacity: float = 0.5
    seed: int = 20240601
    # The reference and the submission measured in turns after the ramp (harness/interleave):
    # how many rounds of one slice each, and how long a slice measures (0 rounds: not at all).
    compare_rounds: int = ROUNDS
    compare_slice_s: float = SLICE_S

    @property
    def concurrencies(self) -> list[int]:
        """1, 2, 4 … doubling up to the cap (the cap itself included)."""
        steps, level = [], 1
        while level < self.max_concurrency:
            steps.append(level)
            level *= 2
        return [*steps, self.max_concurrency]

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LoadPlan:
        """Validate load.toml's content (job.options); raises PlanError naming the problem."""
        try:
            return _plan(options)
        except (TypeError, ValueError, KeyError) as exc:
            raise PlanError(f"load.toml: {exc}") from exc


_PLAN_NUMBERS = (
    "slo_p95_ms",
    "max_error_rate",
    "step_duration_s",
    "warmup_s",
    "think_time_ms",
    "request_timeout_s",
    "stop_p95_factor",
    "stop_error_rate",
    "min_relative_capacity",
    "compare_slice_s",
)
_PLAN_KEYS = {
    *_PLAN_NUMBERS,
    "max_concurrency",
    "seed",
    "setup",
    "request",
    "budget_s",
    "upstream_latency",
    "compare_rounds",
}
_LATENCY_KEYS = {"median_ms", "p99_ms"}


def _plan(options: dict[str, Any]) -> LoadPlan:
    unknown = sorted(set(options) - _PLAN_KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")
    requests = tuple(_request(raw) for raw in options.get("request", []))
    if not requests:
        raise ValueError("no [[request]] in the traffic mix")
    numbers = {k: float(options[k]) for k in _PLAN_NUMBERS if k in options}
    if any(v < 0 for v in numbers.values()):
        raise ValueError("durations, rates and latencies must not be negative")
    plan = LoadPlan(
        requests=requests,
        setup=SetupSpec(**options.get("setup", {})),
        max_concurrency=int(options.get("max_concurrency", 64)),
        compare_rounds=int(options.get("compare_rounds", ROUNDS)),
        seed=int(options.get("seed", LoadPlan.seed)),
        upstream_latency=_latency(options.get("upstream_latency")),
        **numbers,
    )
    if not 1 <= plan.max_concurrency <= 1024 or plan.step_duration_s <= 0:
        raise ValueError("max_concurrency must be 1-1024 and step_duration_s above zero")
    if not 0 <= plan.compare_rounds <= 100 or plan.compare_slice_s <= 0:
        raise ValueError("compare_rounds must be 0-100 and compare_slice_s above zero")
    return plan


def _latency(raw: Any) -> Latency | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != _LATENCY_KEYS:
        raise ValueError(
            f"[upstream_latency] needs exactly median_ms and p99_ms (milliseconds), got {raw!r}"
        )
    return Latency(float(raw["median_ms"]), float(raw["p99_ms"]))


def _request(raw: dict[str, Any]) -> RequestSpec:
    spec = RequestSpec(
        name=str(raw["name"]),
        weight=float(raw.get("weight", 1)),
        method=str(raw.get("method", "GET")).upper(),
        path=str(raw["path"]),
        body=None if raw.get("body") is None else str(raw["body"]),
        expect_status=frozenset(int(s) for s in raw.get("expect_status", [200])),
        expect_keys=tuple(str(k) for k in raw.get("expect_keys", ())),
    )
    if spec.weight <= 0 or not spec.path.startswith("/"):
        raise ValueError(f"request {spec.name!r}: weight must be positive, path must start with /")
    return spec


# -- the traffic mix -----------------------------------------------------------------------


def build_mix(plan: LoadPlan, port: int, skus: list[str]) -> Mix:
    """Encode `VARIANTS` copies of each request (random sku and customer) and draw the
    weighted schedule, all from the plan's seed so two runs send the same traffic."""
    rng = random.Random(plan.seed)  # noqa: S311 - reproducible traffic, not secrets
    customers = [f"load-customer-{n}" for n in range(max(1, plan.setup.customers))]
    variants = [
        [_variant(spec, rng, skus, customers, port) for _ in range(VARIANTS)]
        for spec in plan.requests
    ]
    weights = [spec.weight for spec in plan.requests]
    kinds = rng.choices(range(len(plan.requests)), weights=weights, k=SCHEDULE)
    schedule = tuple((kind, rng.choice(variants[kind])) for kind in kinds)
    return Mix(plan.requests, schedule)


def _variant(
    spec: RequestSpec, rng: random.Random, skus: list[str], customers: list[str], port: int
) -> bytes:
    values = {"{sku}": rng.choice(skus or ["none"]), "{customer}": rng.choice(customers)}

    def fill(text: str) -> str:
        # Plain replacement, not str.format: JSON bodies are full of braces.
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    body = None if spec.body is None else fill(spec.body).encode()
    return encode(spec.method, fill(spec.path), body, port)


# -- setup: data the traffic needs ---------------------------------------------------------


async def send_all(
    port: int, payloads: Iterable[bytes], expect: frozenset[int], workers: int = 4
) -> Counter[str]:
    """Send every payload (a few at a time); outcomes counted as "ok" or the reason."""
    queue = list(payloads)
    spec = RequestSpec("setup", 1, "POST", "/", expect_status=expect)
    generator = Generator(port, Mix((spec,), ((0, b""),)), timeout_s=10.0)
    outcomes: Counter[str] = Counter()

    async def worker(slot: int) -> None:
        while queue:
            answer, _, error = await generator.exchange(slot, queue.pop())
            outcomes[(problem_with(spec, answer) or "ok") if answer else error] += 1

    watchdog = asyncio.create_task(generator._watchdog())
    try:
        await asyncio.gather(*(worker(slot) for slot in range(workers)))
    finally:
        watchdog.cancel()
        generator.close()
    return outcomes


def product_skus(setup: SetupSpec) -> list[str]:
    """The skus the setup creates."""
    return [f"LOAD-{n:05d}" for n in range(setup.products)]


def product_payloads(setup: SetupSpec, port: int) -> list[bytes]:
    """POST /products for each product of the setup."""
    payloads = []
    for sku in product_skus(setup):
        body = {"sku": sku, "name": f"Load item {sku}", "price": setup.price, "stock": setup.stock}
        payloads.append(encode("POST", "/products", json.dumps(body).encode(), port))
    return payloads


def order_payloads(setup: SetupSpec, port: int, seed: int) -> list[bytes]:
    """POST /orders for the setup's pre-existing orders (data volume before the run)."""
    rng, skus = random.Random(seed + 1), product_skus(setup)  # noqa: S311 - not secrets
    payloads = []
    for n in range(setup.orders):
        customer = f"load-customer-{n % max(1, setup.customers)}"
        items = [{"sku": rng.choice(skus), "quantity": 1}]
        body = {"customer_id": customer, "region": "DE", "items": items}
        payloads.append(encode("POST", "/orders", json.dumps(body).encode(), port))
    return payloads


async def create_data(plan: LoadPlan, port: int) -> dict[str, Any]:
    """Create the setup's products (and orders), through the API like any client would."""
    started = time.monotonic()
    products = await send_all(port, product_payloads(plan.setup, port), frozenset({200, 201}))
    orders = await send_all(
        port, order_payloads(plan.setup, port, plan.seed), frozenset({200, 201, 202})
    )
    return {
        "products": dict(products),
        "orders": dict(orders),
        "seconds": round(time.monotonic() - started, 3),
    }


# -- the job -------------------------------------------------------------------------------


def past_knee(step: Step, plan: LoadPlan) -> bool:
    """Clearly beyond the knee: more concurrency would only measure a service in trouble."""
    slow = step.p95_ms > plan.stop_p95_factor * plan.slo_p95_ms
    return slow or step.error_rate > plan.stop_error_rate


def capacity_rps(steps: list[dict[str, Any]], best: int = 3) -> float:
    """The median of the `best` highest full-core throughputs, from the calm steps when there
    are any: those where neither the service's nor the harness's core was much taken by other
    work (a busy harness core slows the generator and the fake provider, which no scaling
    undoes), and where both cores ran near the speed of the run's fastest step (a neighbour on
    a shared host can slow a core down without taking any of its time; scaling by the
    measured speed over-corrects, so slow steps are left out instead)."""
    fastest = fastest_bursts(steps)

    def calm(step: dict[str, Any]) -> bool:
        shares = min(step.get("core_share", 1), step.get("harness_share", 1))
        speeds = [(fastest[key] or 0.0) / step[key] for key in fastest if step.get(key)]
        return shares >= CALM and min(speeds, default=1.0) >= CALM

    figures = sorted(
        (s.get("full_core_rps", s["throughput_rps"]) for s in [*filter(calm, steps)] or steps),
        reverse=True,
    )
    return float(statistics.median(figures[:best])) if figures else 0.0


def summarize(
    steps: list[dict[str, Any]], slo_p95_ms: float, max_error_rate: float
) -> dict[str, Any]:
    """The knee (highest concurrency with p95 within the SLO and errors under the limit, 0 when
    none), the p95 there, the best throughput of good answers, the capacity figure that runs
    are compared by, and the worst error rate."""
    within = [
        s
        for s in steps
        if s["p95_ms"] <= slo_p95_ms and s["error_rate"] < max_error_rate and s["requests"]
    ]
    at_knee = max(within, key=lambda s: s["concurrency"], default=None)
    return {
        "knee_concurrency": at_knee["concurrency"] if at_knee else 0,
        "p95_ms_at_knee": at_knee["p95_ms"] if at_knee else None,
        "max_throughput_rps": max((s["throughput_rps"] for s in steps), default=0.0),
        "capacity_rps": capacity_rps(steps),
        "error_rate_max": max((s["error_rate"] for s in steps), default=0.0),
    }


# -- how much of its core the service really had ------------------------------------------


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far: the watched cores busy with anything, and their owner's share; and,
    where known, how long the owner's threads waited runnable for a core (None: not known)."""

    at: float
    cores_busy_s: float
    own_s: float
    waited_s: float | None = None


@dataclass(frozen=True)
class CoreWatch:
    """Tells what share of its cores a process had: on a shared host, other work on the same
    cores (or the hypervisor) takes time that would otherwise have been the owner's."""

    cores: frozenset[int]
    own_cpu: Callable[[], float]  # CPU seconds the cores' owner has used so far
    # Seconds the owner's threads have waited runnable for a core so far (None: not known).
    own_wait: Callable[[], float] | None = None

    @classmethod
    def for_service(cls, job: Job, speed: SpeedWatch | None = None) -> CoreWatch | None:
        """The service's cores, counted by its uid, plus the speed watcher on them, whose
        crumbs of time are ours too (None where the service has neither cores nor uid)."""
        cores = job.cpus.get("service", "")
        if not cores or job.uid == 0:
            return None
        own_cpu = plus_watcher(functools.partial(uid_cpu_seconds, job.uid), speed)
        return cls(_cores(cores), own_cpu, functools.partial(uid_wait_seconds, job.uid))

    @classmethod
    def for_harness(cls, job: Job, speed: SpeedWatch | None = None) -> CoreWatch | None:
        """This process's cores (the generator and the fake provider run here), and the
        speed watcher on them."""
        cores = job.cpus.get("harness", "")
        return cls(_cores(cores), plus_watcher(time.process_time, speed)) if cores else None

    def sample(self) -> CpuSample:
        """Read the counters now (a /proc scan: call between steps, not inside one)."""
        waited = self.own_wait() if self.own_wait else None
        return CpuSample(time.monotonic(), self._cores_busy(), self.own_cpu(), waited)

    def _cores_busy(self) -> float:
        busy = 0
        for line in Path("/proc/stat").read_text().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in self.cores:
                # user nice system … steal: interrupts are left out, as most are our own traffic.
                values = [int(v) for v in fields]
                busy += values[0] + values[1] + values[2] + values[7]
        return busy / CLOCK_TICKS

    def share(self, before: CpuSample, after: CpuSample) -> float:
        """The share of the cores' time between two samples that others did not take from the
        owner. Where the owner's waits are known, only time it spent runnable and waiting counts
        as taken: a service that sleeps on its upstream (or on a lock held across that call)
        while others use the core lost nothing to them, and scaling its throughput by the
        core's share would credit it with a speed it never lacked the CPU for."""
        wall = (after.at - before.at) * len(self.cores)
        others = (after.cores_busy_s - before.cores_busy_s) - (after.own_s - before.own_s)
        if after.waited_s is not None and before.waited_s is not None:
            others = min(others, after.waited_s - before.waited_s)
        return round(min(1.0, max(0.05, 1 - others / wall)), 3) if wall > 0 else 1.0


def _cores(text: str) -> frozenset[int]:
    return frozenset(int(c) for c in text.split(","))


def uid_cpu_seconds(uid: int) -> float:
    """CPU seconds used so far by the live processes of `uid` (the sandboxed service's)."""
    seconds = 0.0
    for entry in os.scandir("/proc"):
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                seconds += process_cpu_seconds(entry.path)
        except OSError:
            continue  # the process ended while we looked
    return seconds


def uid_wait_seconds(uid: int) -> float:
    """Seconds the live threads of `uid` have spent runnable but waiting for a core (the
    second field of /proc/PID/task/TID/schedstat, in nanoseconds)."""
    waited = 0
    for entry in os.scandir("/proc"):
        try:
            if not (entry.name.isdigit() and entry.stat().st_uid == uid):
                continue
            for task in os.scandir(f"{entry.path}/task"):
                waited += int(Path(task.path, "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process or thread ended while we looked
    return waited / 1e9


Watches = tuple[CoreWatch | None, CoreWatch | None]  # the service's, the harness's


def _shares(watches: Watches, before: list[CpuSample | None]) -> tuple[float, float]:
    shares = [
        watch.share(start, watch.sample()) if watch and start else 1.0
        for watch, start in zip(watches, before, strict=True)
    ]
    return shares[0], shares[1]


def generator_for(plan: LoadPlan, port: int, skus: list[str]) -> Generator:
    """The plan's traffic mix for the service on `port`."""
    mix = build_mix(plan, port, skus)
    return Generator(
        port,
        mix,
        timeout_s=plan.request_timeout_s,
        think_s=plan.think_time_ms / 1000,
        seed=plan.seed,
    )


async def drive(
    plan: LoadPlan,
    port: int,
    skus: list[str],
    deadline: float,
    watches: Watches = (None, None),
    speeds: tuple[SpeedWatch | None, SpeedWatch | None] = (None, None),
) -> dict[str, Any]:
    """Step concurrency up until the cap, a step past the knee, or the deadline."""
    generator = generator_for(plan, port, skus)
    steps: list[Step] = []
    stopped = "reached the concurrency cap"
    step_cost = plan.warmup_s + plan.step_duration_s + plan.request_timeout_s
    try:
        for concurrency in plan.concurrencies:
            if time.monotonic() + step_cost > deadline:
                stopped = f"time budget: no room for concurrency {concurrency}"
                break
            gc.collect()  # between steps, so a collection does not land inside a measurement
            before = [watch.sample() if watch else None for watch in watches]
            measured_from = time.monotonic_ns() + round(plan.warmup_s * 1e9)
            step = await generator.step(concurrency, plan.warmup_s, plan.step_duration_s)
            until = time.monotonic_ns()
            bursts = [w.burst_ms(measured_from, until) if w else None for w in speeds]
            steps.append(step.with_shares(*_shares(watches, before)).with_speed(*bursts))
            if past_knee(steps[-1], plan):
                stopped = f"past the knee at concurrency {concurrency}"
                break
    finally:
        generator.close()
    return {"steps": [s.to_json() for s in steps], "stopped": stopped}


def in_turns(
    job: Job,
    service: ServiceControl,
    provider: Provider,
    plan: LoadPlan,
    deadline: float,
) -> dict[str, Any]:
    """The submission against its companion, the reference, in alternating slices, both at
    the concurrency where the reference's throughput peaks (harness/interleave)."""
    if job.companion is None:
        return {"error": "no reference to compare with"}
    # Start-up and data for the reference, then every slice with its warm-up and stragglers.
    needed = 15 + 2 * plan.compare_rounds * (SLICE_WARMUP_S + plan.compare_slice_s + 0.5)
    if time.monotonic() + needed > deadline:
        return {"error": "time budget: no room left to measure the reference in turns"}
    if not service.pausable:
        return {"error": "this host cannot tell the service's processes apart to pause them"}
    companion_job = job.for_companion()
    companion = ServiceControl(sandbox_for(companion_job), companion_job, port=COMPANION_PORT)
    skus = product_skus(plan.setup)

    def prepare() -> dict[str, Any]:
        companion.start(provider.url)
        return asyncio.run(create_data(plan, COMPANION_PORT))

    generators = (
        generator_for(plan, service.port, skus),
        generator_for(plan, COMPANION_PORT, skus),
    )
    return compare(
        job,
        service,
        companion,
        prepare,
        generators,
        job.companion.concurrency,
        plan.compare_rounds,
        plan.compare_slice_s,
    )


def plan_view(plan: LoadPlan) -> dict[str, Any]:
    """What the run was asked to do, for the report."""
    return {
        "slo_p95_ms": plan.slo_p95_ms,
        "max_error_rate": plan.max_error_rate,
        "step_duration_s": plan.step_duration_s,
        "warmup_s": plan.warmup_s,
        "concurrency": plan.concurrencies,
        "think_time_ms": plan.think_time_ms,
        "upstream_latency": plan.upstream_latency.__dict__ if plan.upstream_latency else None,
        "requests": {r.name: r.weight for r in plan.requests},
        "setup": plan.setup.__dict__,
        "compare_rounds": plan.compare_rounds,
        "compare_slice_s": plan.compare_slice_s,
    }


def run(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Start the service, create its data, step the load up, stop it with SIGTERM."""
    # Room at the end for a graceful stop and the results.
    deadline = time.monotonic() + job.deadline_s - job.service.shutdown_timeout_s - 2
    plan = LoadPlan.from_options(job.options)
    results: dict[str, Any] = {"service": {"started": False}, "plan": plan_view(plan)}
    try:
        results["service"]["startup_s"] = round(service.start(provider.url), 3)
    except ServiceError as exc:
        results["service"]["error"] = str(exc)
        return results
    results["service"]["started"] = True
    results["service"]["healthz_status"] = service.probe_status()
    provider.slow_down(plan.upstream_latency, seed=plan.seed)
    results["setup"] = asyncio.run(create_data(plan, service.port))
    gc.freeze()  # what setup left is long-lived: keep the collector from walking it mid-step
    speeds = (
        SpeedWatch.for_cores(job.cpus.get("service", "")),
        SpeedWatch.for_cores(job.cpus.get("harness", "")),
    )
    try:
        watches = (CoreWatch.for_service(job, speeds[0]), CoreWatch.for_harness(job, speeds[1]))
        skus = product_skus(plan.setup)
        results.update(asyncio.run(drive(plan, service.port, skus, deadline, watches, speeds)))
    finally:
        for speed in speeds:
            if speed is not None:
                speed.close()
    results["summary"] = summarize(results["steps"], plan.slo_p95_ms, plan.max_error_rate)
    if job.companion is not None and plan.compare_rounds:
        results["compare"] = in_turns(job, service, provider, plan, deadline)
    clean, seconds = service.stop()
    results["service"].update({"sigterm_clean": clean, "sigterm_s": round(seconds, 3)})
    return results
