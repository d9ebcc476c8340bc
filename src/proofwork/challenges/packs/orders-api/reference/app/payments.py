"""The Paystream client: bounded in time, retried with backoff, idempotent per order (R7, R8)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import httpx

from app.money import format_money

log = logging.getLogger("app.payments")

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class Outcome(Enum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    # No answer we can trust (timeout, 5xx, reset): the charge may or may not exist yet.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChargeResult:
    outcome: Outcome
    charge_id: str | None = None
    detail: str = ""


def idempotency_key(order_id: str) -> str:
    """The one key every charge attempt of an order uses, so Paystream charges it at most once."""
    return f"order-{order_id}"


class Paystream:
    """Charges orders; never takes longer than the deadline it is given."""

    def __init__(
        self,
        base_url: str,
        *,
        attempt_timeout_s: float,
        connect_timeout_s: float,
        max_attempts: int,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = httpx.Client(base_url=base_url, transport=transport)
        self._attempt_timeout_s = attempt_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._clock = clock

    def charge(self, order_id: str, amount: Decimal, *, budget_s: float) -> ChargeResult:
        """Charge `amount` for the order, retrying transient failures until `budget_s` runs out."""
        deadline = self._clock() + budget_s
        result = ChargeResult(Outcome.UNKNOWN, detail="no attempt made")
        for attempt in range(1, self._max_attempts + 1):
            remaining = deadline - self._clock()
            if remaining <= 0.05:
                break
            result = self._attempt(order_id, amount, min(remaining, self._attempt_timeout_s))
            outcome = {"order_id": order_id, "attempt": attempt, "outcome": result.outcome.value}
            log.info("payment attempt", extra={**outcome, "detail": result.detail})
            if result.outcome is not Outcome.UNKNOWN:
                return result
            if attempt < self._max_attempts:
                self._sleep(min(_backoff(attempt), max(0.0, deadline - self._clock())))
        return result

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _attempt(self, order_id: str, amount: Decimal, timeout_s: float) -> ChargeResult:
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, self._connect_timeout_s))
        try:
            response = self._client.post(
                "/charges",
                json={"amount": format_money(amount), "currency": "EUR", "reference": order_id},
                headers={"Idempotency-Key": idempotency_key(order_id)},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            return ChargeResult(Outcome.UNKNOWN, detail=f"{type(exc).__name__}: {exc}")
        return interpret(response.status_code, _json(response))


def interpret(status: int, body: Any) -> ChargeResult:
    """What a Paystream answer means for the order."""
    charge_status = body.get("status") if isinstance(body, dict) else None
    if status == 402 or (200 <= status < 300 and charge_status == "declined"):
        return ChargeResult(Outcome.DECLINED, detail=f"HTTP {status}")
    if 200 <= status < 300 and charge_status == "succeeded":
        return ChargeResult(Outcome.SUCCEEDED, charge_id=str(body.get("id", "")), detail=f"HTTP {status}")
    if status not in RETRYABLE_STATUSES and not 200 <= status < 300:
        log.error("unexpected answer from Paystream", extra={"status": status, "body": str(body)[:200]})
    return ChargeResult(Outcome.UNKNOWN, detail=f"HTTP {status}, status {charge_status!r}")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: about 0.1 s, 0.2 s, 0.4 s …"""
    return random.uniform(0.5, 1.0) * 0.1 * 2.0 ** (attempt - 1)  # noqa: S311 - jitter, not security
