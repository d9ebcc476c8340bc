"""Operability jobs: what an operator needs from the service.

- configuration from the environment: a first run on an unusual PORT, DATA_DIR and
  PAYMENTS_URL must listen, keep its data and charge where it is told;
- `/healthz` answers 200 when up, and stops saying 200 when its storage is gone;
- logs are structured (a JSON object or key=value a line) and carry a request id;
- SIGTERM with orders in flight: they complete with a proper answer, and the process exits
  within the pack's shutdown deadline.

"Storage is gone" is made real from the host: DATA_DIR's folder is handed to root with mode
000, so the service (its own uid, no capabilities) can no longer open, create or even look up a
file in it. Files it already holds open keep working (SQLite's pooled connections, its WAL) —
which is exactly why a health check that only runs `SELECT 1` on an open connection goes on
saying 200 while the service could neither open its database again nor start. Renaming the
host folder would prove nothing: a bind mount follows the folder, not its name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from proofwork.harness.job import DATA, Job
from proofwork.harness.provider import Provider
from proofwork.harness.service import REQUEST_ID_KEYS, ServiceControl, ServiceError, log_metrics
from proofwork.harness.shop import CheckFailed, Shop, start

ALT_PORT = 8089
ALT_DATA = "/srv/orders-state"  # unusual on purpose: a hard-coded path cannot pass for it
POLL_S = 0.25
TRAFFIC = 10  # requests sent with an X-Request-ID, to see the id in the logs
DRAINED = (201, 202)  # an order in flight at SIGTERM was completed, paid or pending
_KEY_VALUE_ID = re.compile(
    r"(?:^|[\s,{])\"?("
    + "|".join(map(re.escape, REQUEST_ID_KEYS))
    + r")\"?\s*[=:]\s*\"?([\w.:-]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Plan:
    """The `[operability]` section of faults.toml."""

    storage_detect_s: float = 5.0
    in_flight: int = 4
    in_flight_latency_s: float = 1.0
    env_startup_s: float = 15.0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Plan:
        """From the job's options."""
        return cls(
            storage_detect_s=float(options.get("storage_detect_s", 5.0)),
            in_flight=max(1, int(options.get("in_flight", 4))),
            in_flight_latency_s=float(options.get("in_flight_latency_s", 1.0)),
            env_startup_s=float(options.get("env_startup_s", 15.0)),
        )


@dataclass
class Elsewhere(ServiceControl):
    """The service started with another DATA_DIR (and, through `port`, another PORT)."""

    data_path: str = ALT_DATA

    def env(self, payments_url: str) -> dict[str, str]:
        """The usual environment, with DATA_DIR pointing elsewhere."""
        return {**super().env(payments_url), "DATA_DIR": self.data_path}


def run(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any]:
    """Configuration first (its own run), then health, storage loss, logs and SIGTERM."""
    plan = Plan.from_options(job.options)
    env, env_lines = env_config(job, service, provider, plan)
    results: dict[str, Any] = {"env": env, "service": start(service, provider)}
    if not results["service"]["started"]:
        return results
    shop = Shop.open(job, service, provider)
    try:
        results["healthz"] = {"status": service.probe_status()}
        sent = traffic(shop)
        results["storage"] = storage_loss(job, service, plan)
        results["drain"] = drain(job, shop, service, provider, plan)
    finally:
        shop.close()
    _stop(service)
    results["log_measures"] = log_measures(env_lines + service.log_lines(), sent)
    return results


def _stop(service: ServiceControl) -> None:
    with contextlib.suppress(ServiceError):  # already stopped (the drain measure stops it)
        service.stop()


# -- configuration -------------------------------------------------------------------------


def env_config(
    job: Job, service: ServiceControl, provider: Provider, plan: Plan
) -> tuple[dict[str, Any], list[str]]:
    """Start on ALT_PORT with DATA_DIR=ALT_DATA and a provider of its own; what it obeyed."""
    folder = Path(job.data_dir).with_name(Path(job.data_dir).name + "-env")
    folder.mkdir(exist_ok=True)
    # The usual DATA_DIR is not mounted at all: a service that writes there cannot pass.
    mounts = [m for m in job.mounts if m[1] != DATA] + [(str(folder), ALT_DATA, True)]
    startup = min(job.service.startup_timeout_s, plan.env_startup_s)
    other_job = replace(job, mounts=mounts, service=replace(job.service, startup_timeout_s=startup))
    elsewhere = Elsewhere(service.sandbox, other_job, port=ALT_PORT)
    other = Provider(port=0)
    other.start()
    try:
        measured = _obeys(other_job, elsewhere, service, (provider, other), folder)
    finally:
        elsewhere.close()
        other.stop()
    return measured, elsewhere.log_lines()


def _obeys(
    job: Job,
    elsewhere: Elsewhere,
    usual: ServiceControl,
    providers: tuple[Provider, Provider],
    folder: Path,
) -> dict[str, Any]:
    usual_provider, other = providers
    asked = {"port": elsewhere.port, "data_dir": elsewhere.data_path}
    try:
        elsewhere.start(other.url)
    except ServiceError as exc:
        # Still running but deaf on PORT? Then it may be listening where it always does.
        default = usual.probe_status() is not None
        return {**asked, "started": False, "error": str(exc), "answers_on_default_port": default}
    charged_before = len(usual_provider.charges)
    order = _one_order(job, elsewhere, other)
    elsewhere.stop()
    return {
        **asked,
        "started": True,
        "data_written": any(folder.iterdir()),
        "order": order,
        "charged_given_provider": bool(other.charges),
        "charged_usual_provider": len(usual_provider.charges) > charged_before,
    }


def _one_order(job: Job, service: ServiceControl, provider: Provider) -> dict[str, Any] | None:
    shop = Shop.open(job, service, provider)
    try:
        ex = shop.place(shop.body(shop.add_product()))
        return ex.to_json()
    except CheckFailed as exc:
        return exc.exchange.to_json() if exc.exchange is not None else {"error": exc.message}
    finally:
        shop.close()


# -- health and storage --------------------------------------------------------------------


def traffic(shop: Shop) -> list[str]:
    """Ordinary requests carrying an X-Request-ID each; the ids sent."""
    sent = [shop.ctx.unique("req") for _ in range(TRAFFIC)]
    try:
        sku = shop.add_product()
    except CheckFailed:
        sku = "no-such-sku"
    for rid in sent:
        shop.http.get(f"/products/{sku}", headers={"X-Request-ID": rid})
    return sent


def storage_loss(job: Job, service: ServiceControl, plan: Plan) -> dict[str, Any]:
    """Make DATA_DIR unusable; /healthz must stop saying 200, and say it again once it is back."""
    if job.backend != "bwrap" or os.geteuid() != 0:
        # Only a service under its own uid, without capabilities, is bound by the permissions.
        return {"measured": False, "reason": "needs the bwrap sandbox and a root harness"}
    before = service.probe_status()
    if before != 200:
        # Nothing healthy to lose: it does not detect the loss, and "recovers" means nothing.
        return {"measured": True, "before": before, "detected": False}
    folder = Path(job.data_dir)
    kept = folder.stat()
    os.chown(folder, 0, 0)
    folder.chmod(0)
    try:
        detected, seen, after_s = watch(service, lambda s: s not in (None, 200), plan)
    finally:
        os.chown(folder, kept.st_uid, kept.st_gid)
        folder.chmod(stat.S_IMODE(kept.st_mode))
    recovered, _, back_s = watch(service, lambda s: s == 200, plan)
    return {
        "measured": True,
        "before": before,
        "detected": detected,
        "statuses": seen,
        "detected_after_s": after_s,
        "recovered": recovered,
        "recovered_after_s": back_s,
    }


def watch(
    service: ServiceControl, wanted: Callable[[int | None], bool], plan: Plan
) -> tuple[bool, list[int | None], float]:
    """Poll /healthz until `wanted(status)` or the window ends: met, statuses seen, seconds."""
    began = time.monotonic()
    seen: list[int | None] = []
    while True:
        status = service.probe_status()
        if not seen or seen[-1] != status:
            seen.append(status)
        elapsed = round(time.monotonic() - began, 3)
        if wanted(status):
            return True, seen, elapsed
        if elapsed + POLL_S > plan.storage_detect_s:
            return False, seen, elapsed
        time.sleep(POLL_S)


# -- SIGTERM -------------------------------------------------------------------------------


def drain(
    job: Job, shop: Shop, service: ServiceControl, provider: Provider, plan: Plan
) -> dict[str, Any]:
    """Orders held up by the provider when SIGTERM arrives: answered, and a timely exit."""
    try:
        sku = shop.add_product(stock=100)
    except CheckFailed as exc:
        return {"setup_error": exc.message}
    base = len(provider.charges)
    wait_s = plan.in_flight_latency_s + job.service.shutdown_timeout_s + 5.0
    provider.latency_s = plan.in_flight_latency_s
    with ThreadPoolExecutor(plan.in_flight) as pool:
        futures = [
            pool.submit(shop.place, shop.body(sku), timeout_s=wait_s) for _ in range(plan.in_flight)
        ]
        confirmed = _until(lambda: len(provider.charges) - base >= plan.in_flight, 3.0)
        clean, seconds = service.stop()
        answers = [f.result() for f in futures]
    provider.latency_s = 0.0
    dropped = [ex for ex in answers if ex.status not in DRAINED]
    return {
        "in_flight": plan.in_flight,
        "confirmed_in_flight": confirmed,
        "drained": len(answers) - len(dropped),
        "statuses": [ex.status for ex in answers],
        "sigterm_clean": clean,
        "sigterm_s": round(seconds, 3),
        "deadline_s": job.service.shutdown_timeout_s,
        "example": dropped[0].to_json() if dropped else None,
    }


def _until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# -- logs ----------------------------------------------------------------------------------


def log_measures(lines: list[str], sent: list[str]) -> dict[str, Any]:
    """How structured the logs are, how many lines carry a request id, and whether the ids we
    sent (X-Request-ID) show up."""
    base = log_metrics(lines)
    ids = [rid for rid in map(request_id, lines) if rid]
    text = "\n".join(lines)
    return {
        "lines": len(lines),
        "structured_percent": base["service.structured_logs_percent"],
        "with_request_id": len(ids),
        "distinct_request_ids": len(set(ids)),
        "sent_ids_logged": sum(1 for rid in sent if rid in text),
        "sent_ids": len(sent),
        "unstructured_sample": [ln for ln in lines if not _structured(ln)][:5],
    }


def request_id(line: str) -> str | None:
    """The request id a log line carries (JSON field or key=value), or None."""
    text = line.strip()
    if text.startswith("{"):
        try:
            entry = json.loads(text)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            return _id_field(entry)
    match = _KEY_VALUE_ID.search(text)
    return match.group(2) if match else None


def _id_field(entry: dict[str, Any], depth: int = 0) -> str | None:
    # One level of nesting too: some loggers keep context under "context" or "extra".
    for key, value in entry.items():
        if key.lower() in REQUEST_ID_KEYS and isinstance(value, str | int) and str(value):
            return str(value)
        if isinstance(value, dict) and depth == 0 and (found := _id_field(value, 1)):
            return found
    return None


def _structured(line: str) -> bool:
    return bool(log_metrics([line])["service.structured_logs_percent"])
