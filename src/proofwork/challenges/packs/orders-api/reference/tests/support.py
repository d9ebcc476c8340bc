"""Test doubles and small helpers shared by the test modules."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

FAILURES = ("timeout", "connect_error", "reset", "error500", "error503", "garbage")


@dataclass
class FakePaystream:
    """Paystream as its documentation describes it, with scripted misbehaviour.

    `script` holds the behaviour of the next requests, one per request; `default` applies after.
    A repeated Idempotency-Key gets the original answer, as with the real provider.
    """

    default: str = "succeed"
    script: list[str] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    answers: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            behaviour = self.script.pop(0) if self.script else self.default
            return self._answer(request, behaviour)

    @property
    def succeeded_charges(self) -> list[str]:
        """Idempotency keys that were charged successfully (each at most once by construction)."""
        return [key for key, (status, _) in self.answers.items() if status == 201]

    def _answer(self, request: httpx.Request, behaviour: str) -> httpx.Response:
        if behaviour == "crash":
            raise RuntimeError("the process died while waiting for Paystream")
        if behaviour == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if behaviour == "connect_error":
            raise httpx.ConnectError("connection refused", request=request)
        if behaviour == "reset":
            raise httpx.RemoteProtocolError("connection reset", request=request)
        if behaviour.startswith("error"):
            return httpx.Response(int(behaviour[-3:]), json={"error": "unavailable"})
        if behaviour == "garbage":
            return httpx.Response(200, content=b"<html>gateway</html>")
        if behaviour.startswith("status"):
            return httpx.Response(int(behaviour[-3:]), json={"error": "bad request"})
        key = request.headers["Idempotency-Key"]
        if key not in self.answers:
            if behaviour == "decline":
                self.answers[key] = (402, {"status": "declined"})
            else:
                self.answers[key] = (201, {"id": f"ch_{next(self._ids)}", "status": "succeeded"})
        status, body = self.answers[key]
        return httpx.Response(status, json=body)


def add_product(client: TestClient, sku: str = "PAN", price: str = "12.25", stock: int = 10) -> dict[str, Any]:
    response = client.post("/products", json={"sku": sku, "name": f"Product {sku}", "price": price, "stock": stock})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def order_body(*lines: tuple[str, int], region: Any = "DE", customer: str = "cust-1", promos: Any = None) -> Any:
    body: dict[str, Any] = {
        "customer_id": customer,
        "region": region,
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }
    if promos is not None:
        body["promo_codes"] = promos
    return body


def stock_of(client: TestClient, sku: str) -> int:
    stock: int = client.get(f"/products/{sku}").json()["stock"]
    return stock


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    code: str = body["error"]["code"]
    return code


def charge_body(request: httpx.Request) -> Any:
    return json.loads(request.content)
