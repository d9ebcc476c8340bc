"""The `operability` probe: health (and storage loss), structured logs with request ids,
SIGTERM with requests in flight, and configuration from the environment, measured by trusted
harness code against the submission's running service."""

from __future__ import annotations

from typing import Any

from proofwork.evidence import Evidence, Finding, MetricValue, Severity
from proofwork.probes.faults import HarnessedFaultProbe

STRUCTURED_PERCENT = 80.0  # below this share of structured lines, logs are a finding


class OperabilityProbe(HarnessedFaultProbe):
    name = "operability"
    default_budget_s = 90.0

    def unmeasured(self, plan: dict[str, Any]) -> dict[str, MetricValue]:
        """A service that never started is operable in no way."""
        return {"operability.healthz_ok": False, "operability.env_config": False}

    def measure(self, evidence: Evidence, plan: dict[str, Any], results: dict[str, Any]) -> None:
        """Metrics and findings for each of the four measures."""
        parts = {k: results.get(k) or {} for k in ("healthz", "storage", "drain", "env")}
        logs = results.get("log_measures") or {}
        evidence.metrics.update(health_metrics(parts["healthz"], parts["storage"]))
        evidence.metrics.update(log_metrics(logs))
        evidence.metrics.update(drain_metrics(parts["drain"]))
        evidence.metrics.update(env_metrics(parts["env"]))
        evidence.findings += self._health(parts["healthz"], parts["storage"])
        evidence.findings += self._logs(logs) + self._drain(parts["drain"])
        evidence.findings += self._env(parts["env"])

    def _health(self, healthz: dict[str, Any], storage: dict[str, Any]) -> list[Finding]:
        if healthz.get("status") != 200:
            message = f"GET /healthz answered {healthz.get('status')} while the service was up"
            return [self.finding("healthz", Severity.MEDIUM, message + "; expected 200")]
        found = []
        if storage.get("measured") and not storage.get("detected"):
            message = (
                "With DATA_DIR unusable (the folder handed to root with mode 000, as when a "
                "volume goes away), /healthz kept answering "
                f"{_statuses(storage.get('statuses'))} for {storage.get('detected_after_s')} s; "
                "expected a non-200 (openapi: 503) so the service is taken out of rotation"
            )
            found.append(self.finding("storage_loss_undetected", Severity.MEDIUM, message))
        elif storage.get("recovered") is False:
            message = (
                "Once DATA_DIR was usable again, /healthz did not return to 200 within "
                f"{storage.get('recovered_after_s')} s"
            )
            found.append(self.finding("healthz_stuck", Severity.LOW, message))
        return found

    def _logs(self, logs: dict[str, Any]) -> list[Finding]:
        if not logs:
            return []
        found = []
        if logs["structured_percent"] < STRUCTURED_PERCENT:
            message = (
                f"{logs['structured_percent']}% of {logs['lines']} log lines are structured "
                "(one JSON object, or key=value pairs, a line)"
            )
            sample = "\n".join(logs.get("unstructured_sample") or []) or None
            found.append(
                Finding(
                    "operability.unstructured_logs",
                    Severity.LOW,
                    message,
                    snippet=sample,
                    probe=self.name,
                )
            )
        if not request_ids(logs):
            message = (
                f"{logs['with_request_id']} of {logs['lines']} log lines carry a request id "
                f"({logs['distinct_request_ids']} distinct); a request cannot be traced"
            )
            found.append(self.finding("no_request_ids", Severity.LOW, message))
        return found

    def _drain(self, drain: dict[str, Any]) -> list[Finding]:
        if "in_flight" not in drain:
            return []
        found = []
        if drain["drained"] < drain["in_flight"]:
            message = (
                f"SIGTERM arrived with {drain['in_flight']} orders in flight; only "
                f"{drain['drained']} completed with 201/202 (answers: {drain['statuses']})"
            )
            found.append(self.finding("not_drained", Severity.HIGH, message, drain["example"]))
        if not drain["sigterm_clean"]:
            message = (
                f"The service did not exit within {drain['deadline_s']:g} s of SIGTERM "
                "and had to be killed"
            )
            found.append(self.finding("slow_exit", Severity.MEDIUM, message))
        return found

    def _env(self, env: dict[str, Any]) -> list[Finding]:
        if not env:
            return []
        if not env.get("started"):
            where = " (something answered on the usual port 8000)"
            port = env.get("port")
            message = (
                f"Started with PORT={port} and DATA_DIR={env.get('data_dir')}, the service "
                f"did not answer on port {port}: {env.get('error')}"
                + (where if env.get("answers_on_default_port") else "")
            )
            return [self.finding("env_config", Severity.MEDIUM, message)]
        wrong = env_problems(env)
        if not wrong:
            return []
        message = "Configuration from the environment is not obeyed: " + "; ".join(wrong)
        return [self.finding("env_config", Severity.MEDIUM, message, env.get("order"))]


def _statuses(statuses: Any) -> str:
    return " then ".join(str(s) for s in statuses or []) or "nothing"


def env_problems(env: dict[str, Any]) -> list[str]:
    """What the service ignored of DATA_DIR and PAYMENTS_URL (it did obey PORT)."""
    wrong = []
    if not env.get("data_written"):
        wrong.append(f"nothing was written to DATA_DIR ({env.get('data_dir')})")
    if not env.get("charged_given_provider"):
        wrong.append("the order was not charged at the PAYMENTS_URL it was given")
    if env.get("charged_usual_provider"):
        wrong.append("it charged a payment provider it was not given")
    return wrong


def request_ids(logs: dict[str, Any]) -> bool:
    """Requests are traceable: a good share of lines carry an id, and ids differ by request."""
    distinct = int(logs.get("distinct_request_ids", 0))
    with_id = int(logs.get("with_request_id", 0))
    return distinct >= 5 and with_id >= 0.3 * max(1, int(logs.get("lines", 0)))


def health_metrics(healthz: dict[str, Any], storage: dict[str, Any]) -> dict[str, MetricValue]:
    """`operability.healthz_*`."""
    metrics: dict[str, MetricValue] = {
        "operability.healthz_ok": healthz.get("status") == 200,
        "operability.healthz_status": healthz.get("status"),
    }
    if storage.get("measured"):
        metrics["operability.healthz_detects_storage_loss"] = bool(storage.get("detected"))
    if "recovered" in storage:
        metrics["operability.healthz_recovers"] = bool(storage["recovered"])
    return metrics


def log_metrics(logs: dict[str, Any]) -> dict[str, MetricValue]:
    """`operability.log_lines`, `.structured_logs_percent`, `.request_ids`, propagation."""
    if not logs:
        return {}
    sent = max(1, logs.get("sent_ids", 0))
    return {
        "operability.log_lines": logs["lines"],
        "operability.structured_logs_percent": logs["structured_percent"],
        "operability.request_ids": request_ids(logs),
        "operability.request_id_propagation_percent": round(
            100.0 * logs.get("sent_ids_logged", 0) / sent, 1
        ),
    }


def drain_metrics(drain: dict[str, Any]) -> dict[str, MetricValue]:
    """`operability.drains_in_flight`, `.sigterm_clean`, `.sigterm_exit_s`."""
    if "in_flight" not in drain:
        return {}
    return {
        "operability.in_flight": drain["in_flight"],
        "operability.drained": drain["drained"],
        "operability.drains_in_flight": drain["drained"] == drain["in_flight"],
        "operability.sigterm_clean": bool(drain["sigterm_clean"]),
        "operability.sigterm_exit_s": drain["sigterm_s"],
    }


def env_metrics(env: dict[str, Any]) -> dict[str, MetricValue]:
    """`operability.env_port`, `.env_data_dir`, `.env_payments_url`, `.env_config`."""
    if not env:
        return {}
    started = bool(env.get("started"))
    data_dir = started and bool(env.get("data_written"))
    payments = (
        started
        and bool(env.get("charged_given_provider"))
        and not env.get("charged_usual_provider")
    )
    return {
        "operability.env_port": started,
        "operability.env_data_dir": data_dir,
        "operability.env_payments_url": payments,
        "operability.env_config": started and data_dir and payments,
    }
