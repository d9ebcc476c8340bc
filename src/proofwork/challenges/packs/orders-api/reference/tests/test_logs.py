import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.logs import JsonFormatter, configure_logging

LogLines = Callable[[str], list[dict[str, Any]]]


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogLines]:
    """Route logging through the service's own JSON setup into a buffer; read back one logger's lines."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stream)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging("INFO")

    def lines(logger: str) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
        return [line for line in parsed if line["logger"] == logger]

    yield lines
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


def test_each_response_carries_a_fresh_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first and second and first != second


def test_a_given_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_an_unsafe_request_id_is_replaced(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "a b\tc" * 50})
    assert response.headers["x-request-id"] != "a b\tc" * 50


def test_every_request_is_logged_as_json_with_its_id(client: TestClient, json_logs: LogLines) -> None:
    product = {"sku": "A", "name": "A", "price": "1.00", "stock": 1}
    client.post("/products", json=product, headers={"X-Request-ID": "r1"})

    [line] = json_logs("app.access")
    assert line["request_id"] == "r1"
    assert line | {"duration_ms": 0} == {
        "ts": line["ts"],
        "level": "info",
        "logger": "app.access",
        "message": "request",
        "request_id": "r1",
        "method": "POST",
        "path": "/products",
        "status": 201,
        "duration_ms": 0,
    }


def test_log_lines_inside_a_request_carry_its_id(client: TestClient, json_logs: LogLines) -> None:
    client.post("/products", json={"sku": "A", "name": "A", "price": "1.00", "stock": 1})
    body = {"customer_id": "c", "region": "DE", "items": [{"sku": "A", "quantity": 1}]}

    client.post("/orders", json=body, headers={"X-Request-ID": "order-req"})

    lines = json_logs("app.checkout")
    assert [line["message"] for line in lines] == ["order reserved", "order payment settled"]
    assert all(line["request_id"] == "order-req" and line["order_id"] for line in lines)


def test_exceptions_are_logged_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())

    line = JsonFormatter().format(record)

    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_uvicorn_logs_go_through_the_same_json_handler(json_logs: LogLines) -> None:
    logging.getLogger("uvicorn.error").warning("hello %s", "there")

    [line] = json_logs("uvicorn.error")
    assert (line["level"], line["message"]) == ("warning", "hello there")
    assert "request_id" not in line


def test_an_unexpected_error_is_a_json_500(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import catalogue

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(catalogue, "get_product", broken)
    safe = TestClient(client.app, raise_server_exceptions=False)

    response = safe.get("/products/A")

    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
