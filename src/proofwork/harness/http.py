"""An HTTP client for acceptance checks that records every exchange and never raises on a reply.

Checks judge a service by what it answered, including "it did not answer": a timeout or a reset
connection becomes an `Exchange` with `error` set, so a check reports it like any other answer.
"""

from __future__ import annotations

import json as jsonlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

# A reply bigger than this is cut off: the harness must not run out of memory on a hostile body.
MAX_BODY_BYTES = 8 * 1024 * 1024

_UNSET: Any = object()  # tells "no JSON body" apart from a JSON body of `null`


class CheckFailed(Exception):
    """A check saw the service break a rule; carries the exchange that showed it."""

    def __init__(self, message: str, exchange: Exchange | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.exchange = exchange


@dataclass
class Exchange:
    """One request and what came back (or the error that came instead), kept for findings."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    elapsed_s: float = 0.0
    error: str | None = None

    def json(self) -> Any:
        """The parsed body; raises CheckFailed when the body is not JSON."""
        try:
            return jsonlib.loads(self.response_body)
        except (ValueError, UnicodeDecodeError):
            raise CheckFailed("response is not JSON", exchange=self) from None

    def summary(self) -> str:
        """One line for messages: `POST /orders -> 500 in 0.03 s`."""
        outcome = self.error if self.status is None else str(self.status)
        return f"{self.method} {self.url} -> {outcome} in {self.elapsed_s:.2f} s"

    def to_json(self, limit: int = 2048) -> dict[str, Any]:
        """A bounded, JSON-ready view for the report: bodies cut to `limit` characters."""
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": self.request_headers,
            "request_body": _clip(self.request_body, limit),
            "status": self.status,
            "response_headers": self.response_headers,
            "response_body": _clip(self.response_body, limit),
            "elapsed_s": round(self.elapsed_s, 4),
            "error": self.error,
        }


def _clip(body: bytes | None, limit: int) -> str | None:
    if body is None:
        return None
    text = body[: limit * 4].decode("utf-8", errors="replace")
    if len(text) > limit or len(body) > limit * 4:
        return text[:limit] + f"… [{len(body)} bytes in all]"
    return text


class Http:
    """A client bound to the service's base URL; records every exchange, thread-safe."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        # A fresh connection per request: a service that drops a kept-alive connection after
        # one bad answer must not fail the next, unrelated request (loopback connects are cheap).
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        self._client = httpx.Client(base_url=self.base_url, limits=limits, trust_env=False)

    @property
    def last(self) -> Exchange | None:
        """The most recent exchange, if any."""
        with self._lock:
            return self.exchanges[-1] if self.exchanges else None

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def get(self, path: str, **kwargs: Any) -> Exchange:
        """`request("GET", path, ...)`."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Exchange:
        """`request("POST", path, ...)`."""
        return self.request("POST", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout_s: float | None = None,
    ) -> Exchange:
        """Send one request and record it; HTTP errors, timeouts and resets are all answers."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        sent_headers = dict(headers or {})
        if json is not _UNSET:
            # Encoded here, not by httpx, so that `json=None` sends a body of `null`.
            content = jsonlib.dumps(json, ensure_ascii=False).encode()
            sent_headers.setdefault("Content-Type", "application/json")
        request = self._client.build_request(
            method,
            path,
            content=content,
            headers=sent_headers,
            params=dict(params) if params else None,
            timeout=timeout,
        )
        exchange = Exchange(
            method=method,
            url=str(request.url),
            request_headers=dict(request.headers),
            request_body=content,
        )
        self._send(request, exchange, timeout)
        with self._lock:
            self.exchanges.append(exchange)
        return exchange

    def _send(self, request: httpx.Request, exchange: Exchange, timeout_s: float) -> None:
        started = time.monotonic()
        try:
            response = self._client.send(request, stream=True)
            try:
                exchange.status = response.status_code
                exchange.response_headers = dict(response.headers)
                exchange.response_body = _read_body(response, started + timeout_s)
            finally:
                response.close()
        except httpx.TimeoutException:
            exchange.status = None
            exchange.error = f"timeout: no complete answer within {timeout_s:g} s"
        except _BodyTooSlow:
            exchange.status = None
            exchange.error = f"timeout: the body was still arriving after {timeout_s:g} s"
        except _BodyTooLarge:
            exchange.status = None
            exchange.error = f"response body larger than {MAX_BODY_BYTES} bytes"
        except httpx.HTTPError as exc:
            exchange.status = None
            exchange.error = f"connection error: {type(exc).__name__}: {exc}"
        finally:
            exchange.elapsed_s = time.monotonic() - started


class _BodyTooSlow(Exception):
    pass


class _BodyTooLarge(Exception):
    pass


def _read_body(response: httpx.Response, deadline: float) -> bytes:
    # httpx's timeout is per read; a server dripping bytes could hold us forever without this.
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        if time.monotonic() > deadline:
            raise _BodyTooSlow
    return b"".join(chunks)
