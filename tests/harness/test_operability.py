"""Operability jobs against a small real service in the real sandbox: health (and storage
loss), structured logs with request ids, draining on SIGTERM and configuration from the
environment; each can pass and each can fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from shop_harness import run_job, shop_job

from proofwork.harness.operability import log_measures, request_id
from proofwork.sandbox import BwrapSandbox

Operability = Callable[..., dict[str, Any]]

OPTIONS = {
    "storage_detect_s": 2.0,
    "in_flight": 3,
    "in_flight_latency_s": 0.5,
    "env_startup_s": 3.0,
}


@pytest.fixture
def operability(sandbox_factory: Callable[..., BwrapSandbox]) -> Operability:
    """Runs an operability job against the fake shop with the given flaws."""

    def run(*flaws: str) -> dict[str, Any]:
        job = shop_job(sandbox_factory(), "operability", OPTIONS, flaws=flaws, shutdown_s=2.0)
        return run_job(job)

    return run


def test_a_well_behaved_service_passes_every_measure(operability: Operability) -> None:
    results = operability()
    assert results["healthz"] == {"status": 200}
    storage = results["storage"]
    assert storage["measured"] and storage["detected"] and storage["recovered"]
    assert storage["statuses"] == [200, 503] or storage["statuses"] == [503]
    logs = results["log_measures"]
    assert logs["structured_percent"] == 100.0
    assert logs["sent_ids_logged"] == logs["sent_ids"] == 10
    assert logs["distinct_request_ids"] >= 10
    drain = results["drain"]
    assert drain["confirmed_in_flight"]
    assert drain["drained"] == drain["in_flight"] == 3
    assert drain["sigterm_clean"]
    assert drain["sigterm_s"] < 2.0
    env = results["env"]
    assert env["started"] and env["data_written"] and env["charged_given_provider"]
    assert not env["charged_usual_provider"]


def test_a_health_check_blind_to_its_storage_is_caught(operability: Operability) -> None:
    storage = operability("blind_health")["storage"]
    assert storage["measured"]
    assert not storage["detected"]
    assert storage["statuses"] == [200]
    assert storage["detected_after_s"] >= 1.5


def test_no_health_check_and_free_text_logs_are_caught(operability: Operability) -> None:
    results = operability("no_healthz", "plain_logs")
    assert results["healthz"] == {"status": 404}
    assert results["storage"] == {"measured": True, "before": 404, "detected": False}
    logs = results["log_measures"]
    assert logs["structured_percent"] == 0.0
    assert logs["with_request_id"] == logs["sent_ids_logged"] == 0
    assert logs["unstructured_sample"][0].startswith(("POST ", "GET "))


def test_exiting_at_once_on_sigterm_drops_the_requests_in_flight(
    operability: Operability,
) -> None:
    drain = operability("abrupt_exit")["drain"]
    assert drain["sigterm_clean"], "it did exit in time..."
    assert drain["drained"] == 0, "...but without answering"
    assert drain["statuses"] == [None, None, None]
    assert drain["example"]["error"].startswith("connection error")


def test_a_service_that_ignores_sigterm_is_killed_after_the_deadline(
    operability: Operability,
) -> None:
    drain = operability("ignores_sigterm")["drain"]
    assert not drain["sigterm_clean"]
    assert drain["sigterm_s"] >= drain["deadline_s"] == 2.0
    assert drain["drained"] == 3


def test_a_service_that_ignores_data_dir_and_payments_url_is_caught(
    operability: Operability,
) -> None:
    env = operability("fixed_data_dir", "fixed_payments")["env"]
    assert env["started"]
    assert not env["data_written"]
    assert not env["charged_given_provider"]
    assert env["charged_usual_provider"]
    assert env["order"]["url"] == "http://127.0.0.1:8089/orders"


def test_a_service_that_ignores_port_never_answers_where_it_is_told(
    operability: Operability,
) -> None:
    env = operability("fixed_port")["env"]
    assert not env["started"]
    assert env["answers_on_default_port"]
    assert "did not answer HTTP within 3s" in env["error"]


def test_request_ids_are_read_from_json_and_key_value_lines() -> None:
    assert request_id('{"level": "info", "request_id": "abc-1"}') == "abc-1"
    assert request_id('{"msg": "x", "X-Request-ID": 42}') == "42"
    assert request_id('{"msg": "x", "context": {"correlation_id": "c-3"}}') == "c-3"
    assert request_id("level=info request_id=r7 path=/orders") == "r7"
    assert request_id('ts=1 "trace_id": "t-9"') == "t-9"
    assert request_id("INFO: GET /orders 200") is None
    assert request_id('{"message": "no request_id here"}') is None


def test_log_measures_count_structure_ids_and_ids_we_sent() -> None:
    lines = [
        '{"level": "info", "request_id": "sent-1"}',
        '{"level": "info", "request_id": "own-2"}',
        "Started server",
    ]
    measured = log_measures(lines, ["sent-1", "sent-9"])
    assert measured["structured_percent"] == 66.7
    assert (measured["with_request_id"], measured["distinct_request_ids"]) == (2, 2)
    assert measured["sent_ids_logged"] == 1
    assert measured["unstructured_sample"] == ["Started server"]
