"""The load generator: closed-loop virtual users on raw keep-alive HTTP/1.1 connections.

Each virtual user owns one connection and loops: take the next request of the mix, send it,
wait for the whole answer, check it, think, repeat. The generator has one core (the service
has the other), so it is written to be cheap per request: requests are encoded once, before
the run; answers are framed by Content-Length or chunked encoding straight off asyncio's
buffers, without an HTTP library in the loop; the clock is read where the last byte arrives,
not when the waiting coroutine gets round to it; one watchdog times out every connection.
Latencies go into an HdrHistogram-style histogram, never a list of floats.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from proofwork.harness.histogram import Histogram

HOST = "127.0.0.1"  # the harness's own network namespace: there is nothing else to reach
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a hostile service must not fill the harness's memory
EXAMPLE_CHARS = 300


class ResponseError(Exception):
    """The service's answer could not be framed as HTTP/1.1."""


@dataclass(frozen=True)
class RequestSpec:
    """One kind of request of the mix, as load.toml declares it."""

    name: str
    weight: float
    method: str
    path: str
    body: str | None = None
    expect_status: frozenset[int] = frozenset({200})
    expect_keys: tuple[str, ...] = ()


# -- wire format ---------------------------------------------------------------------------


def encode(method: str, path: str, body: bytes | None, port: int) -> bytes:
    """One HTTP/1.1 request, ready to write as is."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: proofwork-load\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode("ascii") + b"\r\n" + (body or b"")


@dataclass(slots=True)  # not frozen: one is made per request, and frozen ones cost more
class Answer:
    """A framed response: status, body, and whether the connection may be used again."""

    status: int
    body: bytes
    size: int  # bytes of the buffer it took, head included
    keep_alive: bool


def parse_response(buffer: bytes | bytearray, eof: bool = False) -> Answer | None:
    """The first complete response in `buffer`, or None while more bytes are needed."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).lower()
    if not head.startswith(b"http/1.") or len(head) < 12 or not head[9:12].isdigit():
        raise ResponseError(f"not an HTTP/1.x status line: {head[:40]!r}")
    status, start = int(head[9:12]), head_end + 4
    keep_alive = head.startswith(b"http/1.1") and b"\r\nconnection: close" not in head
    if 100 <= status < 200:  # an interim answer: the real one follows
        later = parse_response(buffer[start:], eof)
        return (
            None
            if later is None
            else Answer(later.status, later.body, start + later.size, keep_alive)
        )
    if status in (204, 304):
        return Answer(status, b"", start, keep_alive)
    if _header(head, b"transfer-encoding").endswith(b"chunked"):
        return _chunked(buffer, start, status, keep_alive)
    length = _header(head, b"content-length")
    if length:
        if not length.isdigit():
            raise ResponseError(f"bad Content-Length {length[:20]!r}")
        end = start + int(length)
        return (
            Answer(status, bytes(buffer[start:end]), end, keep_alive)
            if len(buffer) >= end
            else None
        )
    # Neither length nor chunks: the body runs until the service closes the connection.
    return Answer(status, bytes(buffer[start:]), len(buffer), False) if eof else None


def _header(head: bytes, name: bytes) -> bytes:
    at = head.find(b"\r\n" + name + b":")
    if at < 0:
        return b""
    end = head.find(b"\r\n", at + 2)
    return head[at + len(name) + 3 : end if end >= 0 else len(head)].strip()


def _chunked(buffer: bytes | bytearray, pos: int, status: int, keep_alive: bool) -> Answer | None:
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        try:
            size = int(bytes(buffer[pos:line_end]).split(b";")[0].strip(), 16)
        except ValueError:
            raise ResponseError("bad chunk size line") from None
        pos = line_end + 2
        if size == 0:
            # Trailers (rare) end with an empty line; without any, it follows at once.
            end = buffer.find(b"\r\n\r\n", pos - 2)
            return None if end < 0 else Answer(status, bytes(body), end + 4, keep_alive)
        if len(buffer) < pos + size + 2:
            return None
        body += buffer[pos : pos + size]
        pos += size + 2


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[Answer, float]] | None = None
        self._transport: asyncio.Transport | None = None
        self.closed = False
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to write requests to."""
        if isinstance(transport, asyncio.Transport):
            self._transport = transport

    def send(self, payload: bytes) -> asyncio.Future[tuple[Answer, float]]:
        """Write a request; the future gets its answer and the moment it was complete."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiter, self.sent_at = waiter, time.perf_counter()
        if self._transport is None or self.closed:
            waiter.set_exception(ConnectionResetError("the connection is closed"))
        else:
            self._transport.write(payload)
        return waiter

    @property
    def busy(self) -> bool:
        """Whether a request waits for its answer."""
        return self._waiter is not None and not self._waiter.done()

    def data_received(self, data: bytes) -> None:
        """Frame the answer as soon as its last byte is here."""
        self._buffer += data
        try:
            self._complete(parse_response(self._buffer))
        except ResponseError as exc:
            self.fail(exc)

    def eof_received(self) -> bool | None:
        """A close-delimited body is complete when the service closes."""
        try:
            self._complete(parse_response(self._buffer, eof=True))
        except ResponseError as exc:
            self.fail(exc)
        return None

    def _complete(self, answer: Answer | None) -> None:
        if answer is None:
            if len(self._buffer) > MAX_RESPONSE_BYTES:
                self.fail(ResponseError(f"answer larger than {MAX_RESPONSE_BYTES} bytes"))
            return
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            self.fail(ResponseError("bytes arrived that no request asked for"))
            return
        del self._buffer[: answer.size]
        if not answer.keep_alive:
            self.close()
        waiter.set_result((answer, time.perf_counter()))

    def connection_lost(self, exc: Exception | None) -> None:
        """The service (or we) closed the connection: a waiting request gets an error."""
        self.closed = True
        self.fail(ConnectionResetError("the service closed the connection"))

    def fail(self, exc: BaseException) -> None:
        """End the waiting request with `exc` and drop the connection."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        """Abort the connection at once (nothing of ours is left to send)."""
        self.closed = True
        if self._transport is not None and not self._transport.is_closing():
            self._transport.abort()


@dataclass(frozen=True)
class Mix:
    """The plan's requests, encoded once, and a weighted sequence for users to walk."""

    specs: tuple[RequestSpec, ...]
    schedule: tuple[tuple[int, bytes], ...]  # (index into specs, encoded request)


def problem_with(spec: RequestSpec, answer: Answer) -> str | None:
    """Why this answer counts as an error (status, or a JSON shape the plan expects), or None."""
    if answer.status not in spec.expect_status:
        return f"status {answer.status}"
    if not spec.expect_keys:
        return None
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    missing = [k for k in spec.expect_keys if not isinstance(data, dict) or k not in data]
    return f"JSON lacks {', '.join(missing)}" if missing else None


# -- measuring -----------------------------------------------------------------------------


@dataclass
class StepStats:
    """What one step recorded: latencies (all answers, good or not) and errors by reason."""

    kinds: int
    by_kind: list[Histogram] = field(default_factory=list)
    kind_errors: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    last_finish: float = 0.0

    def __post_init__(self) -> None:
        self.by_kind = [Histogram() for _ in range(self.kinds)]

    def latency(self) -> Histogram:
        """Every request's latency: the kinds' histograms merged (one record per request)."""
        merged = Histogram()
        for histogram in self.by_kind:
            merged.merge(histogram)
        return merged

    def record(self, kind: int, seconds: float, finished: float, problem: str | None) -> None:
        """Count one request that was sent inside the measured window."""
        micros = round(seconds * 1_000_000)
        self.by_kind[kind].record(micros)
        self.last_finish = max(self.last_finish, finished)
        if problem is not None:
            self.errors[problem] += 1
            self.kind_errors[kind] += 1

    def example(self, problem: str, text: str) -> None:
        """Keep the first answer seen for each kind of error, for findings."""
        self.examples.setdefault(problem, text[:EXAMPLE_CHARS])


@dataclass(frozen=True)
class Step:
    """One concurrency level's figures, as results carry them."""

    concurrency: int
    requests: int
    errors: int
    elapsed_s: float
    throughput_rps: float  # good answers per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    errors_by_reason: dict[str, int]
    examples: dict[str, str]
    by_request: dict[str, dict[str, float]]
    # Share of its core the service had (others' work on a shared host takes the rest), and
    # the throughput it would have had with all of it: what capacity comparisons divide.
    core_share: float = 1.0
    harness_share: float = 1.0  # the same for the generator's (and fake provider's) core
    # How fast the service's core ran during the step: the median CPU time of a fixed burst of
    # work (see harness.speed); None when it was not measured. A neighbour on a shared host can
    # slow the core down without taking any of its time.
    burst_ms: float | None = None
    harness_burst_ms: float | None = None  # the same for the harness's core

    @property
    def full_core_rps(self) -> float:
        """Throughput of good answers scaled to the whole core."""
        return round(self.throughput_rps / self.core_share, 2)

    def with_shares(self, service: float, harness: float) -> Step:
        """The same figures, knowing how much of their cores the service and harness had."""
        return replace(self, core_share=service, harness_share=harness)

    def with_speed(self, burst_ms: float | None, harness_burst_ms: float | None = None) -> Step:
        """The same figures, knowing how fast the service's (and harness's) core ran."""
        return replace(self, burst_ms=burst_ms, harness_burst_ms=harness_burst_ms)

    @property
    def error_rate(self) -> float:
        """Share of requests that were errors (1.0 when nothing was sent at all)."""
        return self.errors / self.requests if self.requests else 1.0

    def to_json(self) -> dict[str, Any]:
        """The step as a row of the results."""
        error_rate = round(self.error_rate, 5)
        return {**self.__dict__, "error_rate": error_rate, "full_core_rps": self.full_core_rps}


def _ms(micros: float) -> float:
    return round(micros / 1000, 2)


def step_figures(concurrency: int, stats: StepStats, elapsed: float, mix: Mix) -> Step:
    """Turn a step's raw counts into the figures a report shows."""
    hist, errors = stats.latency(), sum(stats.errors.values())
    by_request = {
        spec.name: {
            "requests": stats.by_kind[i].count,
            "errors": stats.kind_errors[i],
            "p95_ms": _ms(stats.by_kind[i].percentile(95)),
        }
        for i, spec in enumerate(mix.specs)
    }
    return Step(
        concurrency=concurrency,
        requests=hist.count,
        errors=errors,
        elapsed_s=round(elapsed, 3),
        throughput_rps=round((hist.count - errors) / elapsed, 2) if elapsed > 0 else 0.0,
        p50_ms=_ms(hist.percentile(50)),
        p95_ms=_ms(hist.percentile(95)),
        p99_ms=_ms(hist.percentile(99)),
        max_ms=_ms(hist.max_value),
        mean_ms=_ms(hist.mean),
        errors_by_reason=dict(stats.errors.most_common(10)),
        examples=dict(list(stats.examples.items())[:5]),
        by_request=by_request,
    )


class Generator:
    """Closed-loop virtual users over a pool of keep-alive connections to one port."""

    def __init__(
        self, port: int, mix: Mix, *, timeout_s: float = 5.0, think_s: float = 0.0, seed: int = 0
    ) -> None:
        self.port = port
        self.mix = mix
        self.timeout_s = timeout_s
        self.think_s = think_s
        self._rng = random.Random(seed)  # noqa: S311 - think-time jitter, not secrets
        self._pool: list[Connection | None] = []

    async def _connection(self, slot: int) -> Connection:
        while len(self._pool) <= slot:
            self._pool.append(None)
        conn = self._pool[slot]
        if conn is not None and not conn.closed:
            return conn
        loop = asyncio.get_running_loop()
        _, fresh = await asyncio.wait_for(
            loop.create_connection(Connection, HOST, self.port), self.timeout_s
        )
        self._pool[slot] = fresh
        return fresh

    async def exchange(self, slot: int, payload: bytes) -> tuple[Answer | None, float, str]:
        """Send one request on the slot's connection: (answer or None, finished, error)."""
        try:
            conn = await self._connection(slot)
        except (OSError, TimeoutError) as exc:
            await asyncio.sleep(0.05)  # a refusing service must not turn this into a busy loop
            return None, time.perf_counter(), f"connect: {type(exc).__name__}"
        try:
            answer, finished = await conn.send(payload)
        except TimeoutError:
            return None, time.perf_counter(), f"no answer within {self.timeout_s:g} s"
        except (OSError, ResponseError) as exc:
            return None, time.perf_counter(), f"{type(exc).__name__}: {exc}"[:120]
        return answer, finished, ""

    async def _user(self, slot: int, record_from: float, until: float, stats: StepStats) -> None:
        schedule = self.mix.schedule
        position = (slot * 7919) % len(schedule)  # users start far apart in the sequence
        while time.perf_counter() < until:
            kind, payload = schedule[position]
            position = (position + 1) % len(schedule)
            started = time.perf_counter()
            answer, finished, error = await self.exchange(slot, payload)
            if started >= record_from:
                self._record(stats, kind, started, finished, answer, error)
            if self.think_s:
                await asyncio.sleep(self.think_s * (0.5 + self._rng.random()))

    def _record(
        self,
        stats: StepStats,
        kind: int,
        started: float,
        finished: float,
        answer: Answer | None,
        error: str,
    ) -> None:
        problem = problem_with(self.mix.specs[kind], answer) if answer is not None else error
        stats.record(kind, finished - started, finished, problem)
        if problem:
            name = self.mix.specs[kind].name
            body = answer.body.decode("utf-8", "replace") if answer is not None else error
            stats.example(problem, f"{name}: {body}")

    async def _watchdog(self) -> None:
        # One timer for all connections: cheaper than a timeout per request.
        while True:
            await asyncio.sleep(min(0.1, self.timeout_s / 4))
            deadline = time.perf_counter() - self.timeout_s
            for conn in self._pool:
                if conn is not None and conn.busy and conn.sent_at < deadline:
                    conn.fail(TimeoutError())

    async def step(self, concurrency: int, warmup_s: float, duration_s: float) -> Step:
        """Run `concurrency` users for warm-up plus duration; figures of the measured part."""
        stats = StepStats(len(self.mix.specs))
        record_from = time.perf_counter() + warmup_s
        until = record_from + duration_s
        watchdog = asyncio.create_task(self._watchdog())
        try:
            users = [self._user(slot, record_from, until, stats) for slot in range(concurrency)]
            await asyncio.gather(*users)
        finally:
            watchdog.cancel()
        # Requests sent before the end still count when they finish late: a slow answer
        # must not vanish from the figures because the step ended while it was in flight.
        elapsed = max(until, stats.last_finish) - record_from
        return step_figures(concurrency, stats, elapsed, self.mix)

    def close(self) -> None:
        """Close every connection."""
        for conn in self._pool:
            if conn is not None:
                conn.close()
        self._pool.clear()
