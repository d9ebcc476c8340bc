"""A fake Paystream: the payment provider a candidate's service charges orders with.

It validates requests like a real provider, honours `Idempotency-Key` the way Stripe does (a
repeated key with the same request returns the original charge; it is not a new charge), and
can be told to misbehave (decline, be slow, fail, reset connections, never answer) so checks can
see what the service does when its upstream does.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import NormalDist
from typing import Any

MODES = ("ok", "decline", "slow", "error500", "error503", "reset", "blackhole")
MAX_REQUEST_BYTES = 64 * 1024
_AMOUNT = re.compile(r"^[0-9]+\.[0-9]{2}$")
_Z99 = NormalDist().inv_cdf(0.99)


@dataclass(frozen=True)
class Latency:
    """How long an upstream takes to answer, as a distribution: a lognormal with this median
    and 99th percentile (a real service's latency has a long right tail; with p99 equal to the
    median every answer takes exactly that long)."""

    median_ms: float
    p99_ms: float

    def __post_init__(self) -> None:
        if not 0 < self.median_ms <= self.p99_ms:
            raise ValueError(
                f"latency needs 0 < median_ms <= p99_ms, got median_ms={self.median_ms} "
                f"and p99_ms={self.p99_ms}"
            )

    def draw(self, rng: random.Random) -> float:
        """One answer's latency in seconds."""
        sigma = math.log(self.p99_ms / self.median_ms) / _Z99
        return rng.lognormvariate(math.log(self.median_ms), sigma) / 1000


@dataclass(frozen=True)
class Charge:
    """One `POST /charges` the provider received, and what it made of it.

    status: succeeded | declined | rejected (invalid request) | key_reused (same key, other
    request) | error500 | error503 | reset | blackhole. `replay` marks a repeated
    Idempotency-Key answered with the original charge (not a new charge).
    """

    idempotency_key: str | None
    amount: str
    currency: str
    reference: str
    status: str
    at: float
    replay: bool = False
    charge_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class _Behaviour:
    mode: str
    delay_s: float = 0.0


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class _Stored:
    """What an Idempotency-Key is bound to: the request it came with and the reply it got."""

    fingerprint: tuple[str, str, str]
    charge: Charge
    reply: _Reply


class Provider:
    """The fake Paystream on a ThreadingHTTPServer; configure with `behave`, inspect `charges`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.latency_s = 0.0
        self._latency: Latency | None = None
        self._rng = random.Random(0)  # noqa: S311 - reproducible latencies, not secrets
        self._lock = threading.Lock()
        self._charges: list[Charge] = []
        self._waiting = 0
        self._keys: dict[str, _Stored] = {}
        self._standing = _Behaviour("ok")
        self._override: _Behaviour | None = None
        self._override_left = 0
        # Set to let held requests (blackhole, slow) go; replaced on reset so later ones wait.
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the service as PAYMENTS_URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Listen and serve in a background thread."""
        self._server = _Server((self.host, self.port), _Handler, self)
        self.port = self._server.server_address[1]
        # A short poll interval so stop() returns promptly (the default waits up to 0.5 s).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving; held requests are let go and open connections closed."""
        self._stopping.set()
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Provider:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def behave(self, mode: str, *, delay_s: float = 0.0, times: int | None = None) -> None:
        """Answer the next `times` requests (or all from now on) the way `mode` says."""
        if mode not in MODES:
            raise ValueError(f"unknown provider mode {mode!r}; known: {', '.join(MODES)}")
        behaviour = _Behaviour(mode, delay_s)
        with self._lock:
            if times is None:
                self._standing, self._override, self._override_left = behaviour, None, 0
            else:
                self._override, self._override_left = behaviour, times

    def slow_down(self, latency: Latency | None, *, seed: int = 0) -> None:
        """From now on every answer also waits a draw from `latency` (None: no more), drawn
        per request in arrival order from `seed`; each waits on its own thread, so a slow
        answer holds up no other request."""
        with self._lock:
            self._latency = latency
            self._rng = random.Random(seed)  # noqa: S311 - reproducible, not secrets

    def reset(self) -> None:
        """Forget charges and keys, answer "ok" with no latency, let held requests go."""
        with self._lock:
            self._charges.clear()
            self._keys.clear()
            self._standing, self._override, self._override_left = _Behaviour("ok"), None, 0
            self.latency_s = 0.0
            self._latency = None
            released, self._release = self._release, threading.Event()
        released.set()

    @property
    def charges(self) -> list[Charge]:
        """Every POST /charges received since the last reset, in arrival order."""
        with self._lock:
            return list(self._charges)

    @property
    def waiting(self) -> int:
        """How many answers are being held back right now (latency, slow or black hole)."""
        with self._lock:
            return self._waiting

    def succeeded_by_reference(self) -> dict[str, int]:
        """How many distinct successful charges each order reference got (replays not counted)."""
        new = [c for c in self.charges if c.status == "succeeded" and not c.replay]
        return dict(Counter(c.reference for c in new))

    # -- serving ---------------------------------------------------------------------------

    def handle(self, handler: _Handler) -> None:
        """Answer one request (called on the server's thread for that connection)."""
        if handler.path.split("?", 1)[0] != "/charges":
            handler.reply(404, {"error": {"code": "not_found", "message": "no such endpoint"}})
            return
        body = handler.read_body()
        if body is None:
            handler.reply(400, {"error": {"code": "bad_request", "message": "body required"}})
            return
        key = handler.headers.get("Idempotency-Key")
        behaviour, release, drawn_s = self._next_behaviour()
        fields = _parse(body)
        if behaviour.mode in ("reset", "blackhole", "error500", "error503"):
            charge = _charge(fields, key, behaviour.mode)
            self._misbehave(handler, behaviour.mode, charge, release, drawn_s)
            return
        reply = self._charge(fields, key, behaviour.mode)
        pause = self.latency_s + drawn_s + (behaviour.delay_s if behaviour.mode == "slow" else 0)
        # The charge is already booked: like a real provider, slowness is in the answer only.
        if pause and self._hold(release, pause):
            handler.drop()
            return
        handler.reply(reply.status, reply.body)

    def _hold(self, release: threading.Event, seconds: float | None) -> bool:
        """Hold an answer back for `seconds` (None: until released); True when released."""
        with self._lock:
            self._waiting += 1
        try:
            return release.wait(seconds)
        finally:
            with self._lock:
                self._waiting -= 1

    def _next_behaviour(self) -> tuple[_Behaviour, threading.Event, float]:
        with self._lock:
            release = self._release
            drawn_s = self._latency.draw(self._rng) if self._latency is not None else 0.0
            if self._override_left > 0 and self._override is not None:
                self._override_left -= 1
                return self._override, release, drawn_s
            return self._standing, release, drawn_s

    def _misbehave(
        self,
        handler: _Handler,
        mode: str,
        charge: Charge,
        release: threading.Event,
        drawn_s: float = 0.0,
    ) -> None:
        with self._lock:
            self._charges.append(charge)
        if mode == "reset":
            handler.reset()
        elif mode == "blackhole":
            self._hold(release, None)
            handler.drop()
        else:
            if self.latency_s + drawn_s:
                self._hold(release, self.latency_s + drawn_s)
            status = 500 if mode == "error500" else 503
            handler.reply(status, {"error": {"code": mode, "message": "provider unavailable"}})

    def _charge(self, fields: dict[str, Any], key: str | None, mode: str) -> _Reply:
        problem = _problem(fields)
        with self._lock:
            if problem is not None:
                self._charges.append(_charge(fields, key, "rejected", reason=problem))
                return _Reply(400, {"error": {"code": "invalid_request", "message": problem}})
            stored = self._keys.get(key) if key is not None else None
            if stored is not None:
                return self._replay(stored, fields, key)
            status = "declined" if mode == "decline" else "succeeded"
            charge = _charge(fields, key, status, charge_id="ch_" + secrets.token_hex(8))
            reply = _reply_for(charge)
            self._charges.append(charge)
            if key is not None:
                self._keys[key] = _Stored(_fingerprint(fields), charge, reply)
            return reply

    def _replay(self, stored: _Stored, fields: dict[str, Any], key: str | None) -> _Reply:
        # Caller holds the lock.
        if stored.fingerprint != _fingerprint(fields):
            reason = "Idempotency-Key reused with a different request"
            self._charges.append(_charge(fields, key, "key_reused", reason=reason))
            return _Reply(409, {"error": {"code": "idempotency_key_reused", "message": reason}})
        original = stored.charge
        self._charges.append(
            _charge(fields, key, original.status, charge_id=original.charge_id, replay=True)
        )
        return stored.reply


def _parse(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {"_invalid": "body is not JSON"}
    return value if isinstance(value, dict) else {"_invalid": "body is not a JSON object"}


def _problem(fields: dict[str, Any]) -> str | None:
    """Why a real provider would refuse this charge request, or None."""
    if "_invalid" in fields:
        return str(fields["_invalid"])
    amount = fields.get("amount")
    if not isinstance(amount, str) or not _AMOUNT.match(amount):
        return f"amount must be a string with two decimals, got {json.dumps(amount)}"
    if float(amount) <= 0:
        return f"amount must be greater than zero, got {amount}"
    if fields.get("currency") != "EUR":
        return f"currency must be EUR, got {json.dumps(fields.get('currency'))}"
    reference = fields.get("reference")
    if not isinstance(reference, str) or not reference:
        return "reference must be a non-empty string"
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _fingerprint(fields: dict[str, Any]) -> tuple[str, str, str]:
    amount, currency, reference = (fields.get(name) for name in ("amount", "currency", "reference"))
    return (_text(amount), _text(currency), _text(reference))


def _charge(fields: dict[str, Any], key: str | None, status: str, **extra: Any) -> Charge:
    amount, currency, reference = _fingerprint(fields)
    return Charge(key, amount, currency, reference, status, time.time(), **extra)


def _reply_for(charge: Charge) -> _Reply:
    if charge.status == "declined":
        return _Reply(402, {"status": "declined", "id": charge.charge_id})
    body = {
        "id": charge.charge_id,
        "status": "succeeded",
        "amount": charge.amount,
        "currency": charge.currency,
        "reference": charge.reference,
    }
    return _Reply(201, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A burst of concurrent orders opens many connections at once; the default backlog is 5.
    request_queue_size = 256

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], provider: Provider
    ) -> None:
        self.provider = provider
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when the service hangs up on us; report anything else (a provider bug)."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut every open connection so keep-alive threads stop waiting for requests."""
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):  # already closed by its peer
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real provider behind a load balancer
    # Headers and body go out in two writes: with Nagle on, delayed ACKs added ~44 ms to every
    # charge, a floor under every order's latency that the candidate did not cause.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the socket was reset or dropped on purpose
            super().finish()

    def do_POST(self) -> None:
        self.server.provider.handle(self)

    def do_GET(self) -> None:
        self.reply(404, {"error": {"code": "not_found", "message": "no such endpoint"}})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the checks report what matters."""

    def read_body(self) -> bytes | None:
        """The request body, by Content-Length or chunked; None when it is unusable or too big."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        if length < 0 or length > MAX_REQUEST_BYTES:
            return None
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes | None:
        body = b""
        while True:
            try:
                size = int(self.rfile.readline(100).split(b";")[0].strip(), 16)
            except ValueError:
                return None
            if size == 0:
                self.rfile.readline(100)  # the blank line after the last chunk (no trailers)
                return body
            body += self.rfile.read(size)
            self.rfile.readline(100)
            if len(body) > MAX_REQUEST_BYTES:
                return None

    def reply(self, status: int, body: dict[str, Any]) -> None:
        """Send a JSON answer."""
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the service gave up on us; nothing to answer

    def reset(self) -> None:
        """Abort the connection with a TCP RST and no answer at all."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def drop(self) -> None:
        """Close the connection without answering (a provider that hung, then went away)."""
        self.close_connection = True
        with contextlib.suppress(OSError):  # already gone
            self.connection.shutdown(socket.SHUT_RDWR)
