"""The load generator against a real server on 127.0.0.1: it counts requests and errors the
way the server saw them; and the plan, the knee and the stop rule on synthetic steps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from typing import Any

import pytest

from proofwork.harness.load import (
    CoreWatch,
    CpuSample,
    LoadPlan,
    PlanError,
    build_mix,
    capacity_rps,
    past_knee,
    summarize,
    uid_wait_seconds,
)
from proofwork.harness.loadgen import (
    Generator,
    Mix,
    RequestSpec,
    ResponseError,
    Step,
    encode,
    parse_response,
)
from proofwork.harness.provider import Latency

JSON_PAGE = json.dumps({"items": [], "next_cursor": None}).encode()


class TinyServer:
    """An HTTP/1.1 server on loopback that answers by path and counts what it received."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> TinyServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._answer_all(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the test is over
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _answer_all(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ")[1].decode()
            lines = head.lower().split(b"\r\n")
            length = next((int(ln[15:]) for ln in lines if ln.startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            self.received[path] += 1
            if path == "/silent":
                continue  # never answers: the generator's timeout must fire
            writer.write(self.answer(path))
            await writer.drain()
            if path == "/close":
                return

    @staticmethod
    def answer(path: str) -> bytes:
        if path == "/chunked":
            body = JSON_PAGE
            return (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                + f"{len(body[:5]):x}\r\n".encode()
                + body[:5]
                + b"\r\n"
                + f"{len(body[5:]):x}\r\n".encode()
                + body[5:]
                + b"\r\n0\r\n\r\n"
            )
        status, body = {
            "/ok": (b"200 OK", JSON_PAGE),
            "/fail": (b"500 Internal Server Error", b"boom"),
            "/shape": (b"200 OK", b'{"unexpected": true}'),
            "/close": (b"200 OK", JSON_PAGE),
        }.get(path, (b"404 Not Found", b"{}"))
        connection = b"Connection: close\r\n" if path == "/close" else b""
        return (
            b"HTTP/1.1 "
            + status
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n"
            + connection
            + b"\r\n"
            + body
        )


def spec(path: str, **extra: Any) -> RequestSpec:
    return RequestSpec(path, 1, "GET", path, **extra)


def mix_of(port: int, *specs: RequestSpec) -> Mix:
    schedule = tuple((i, encode(s.method, s.path, None, port)) for i, s in enumerate(specs))
    return Mix(specs, schedule)


def drive(
    *paths_or_specs: str | RequestSpec, concurrency: int = 4, **options: Any
) -> tuple[Step, Counter[str]]:
    """Run one step (no warm-up, so every request is recorded) against a TinyServer."""
    specs = [spec(p) if isinstance(p, str) else p for p in paths_or_specs]

    async def main() -> tuple[Step, Counter[str]]:
        async with TinyServer() as server:
            generator = Generator(server.port, mix_of(server.port, *specs), **options)
            try:
                step = await generator.step(concurrency, warmup_s=0.0, duration_s=0.6)
            finally:
                generator.close()
            return step, server.received

    return asyncio.run(main())


def test_every_request_the_server_answered_is_counted_once() -> None:
    step, received = drive("/ok", "/chunked")
    assert step.requests == sum(received.values()) > 100
    assert step.errors == 0
    assert step.by_request["/ok"]["requests"] == received["/ok"]
    assert step.by_request["/chunked"]["requests"] == received["/chunked"]
    assert step.throughput_rps > 0 and 0 < step.p50_ms <= step.p95_ms <= step.p99_ms


def test_answers_with_an_unexpected_status_are_errors_with_the_status_as_reason() -> None:
    step, received = drive("/ok", "/fail")
    assert step.errors == received["/fail"] == step.errors_by_reason["status 500"]
    assert step.error_rate == pytest.approx(0.5, abs=0.05)
    assert "/fail: boom" in step.examples["status 500"]
    # Throughput counts good answers only.
    assert step.throughput_rps == pytest.approx(received["/ok"] / step.elapsed_s, rel=0.01)


def test_a_json_shape_the_plan_expects_is_checked() -> None:
    keys = ("items", "next_cursor")
    step, received = drive(spec("/shape", expect_keys=keys), spec("/ok", expect_keys=keys))
    assert step.errors_by_reason == {"JSON lacks items, next_cursor": received["/shape"]}


def test_a_service_that_never_answers_times_out_as_errors() -> None:
    step, _ = drive("/silent", concurrency=2, timeout_s=0.2)
    assert step.requests >= 2
    assert step.errors == step.requests
    assert list(step.errors_by_reason) == ["no answer within 0.2 s"]
    assert step.p50_ms >= 200


def test_connections_the_service_closes_are_reopened_without_errors() -> None:
    step, received = drive("/close", concurrency=2)
    assert step.errors == 0
    assert step.requests == received["/close"] > 10


def test_a_refused_connection_is_an_error_not_a_crash() -> None:
    async def main() -> Step:
        async with TinyServer() as server:
            port = server.port
        generator = Generator(port, mix_of(port, spec("/ok")), timeout_s=0.5)
        try:
            return await generator.step(1, warmup_s=0.0, duration_s=0.3)
        finally:
            generator.close()

    step = asyncio.run(main())
    assert step.errors == step.requests > 0
    assert all(reason.startswith("connect:") for reason in step.errors_by_reason)


def test_responses_are_framed_by_length_chunks_or_close() -> None:
    whole = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    assert parse_response(whole[:-1]) is None
    answer = parse_response(whole + b"HTTP/1.1")
    assert answer is not None and (answer.status, answer.body, answer.size) == (200, b"ok", 40)
    chunked = TinyServer.answer("/chunked")
    assert parse_response(chunked[:-2]) is None
    framed = parse_response(chunked)
    assert framed is not None and json.loads(framed.body) == json.loads(JSON_PAGE)
    closing = b"HTTP/1.0 200 OK\r\n\r\nuntil the end"
    assert parse_response(closing) is None
    last = parse_response(closing, eof=True)
    assert last is not None and last.body == b"until the end" and not last.keep_alive
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
    assert parse_response(interim) == parse_response(interim)
    assert getattr(parse_response(interim), "status", None) == 204
    with pytest.raises(ResponseError):
        parse_response(b"SSH-2.0-OpenSSH\r\n\r\n")


def plan(**overrides: Any) -> LoadPlan:
    options: dict[str, Any] = {
        "request": [
            {
                "name": "order",
                "method": "POST",
                "path": "/orders",
                "weight": 3,
                "body": '{"customer_id": "{customer}", "items": [{"sku": "{sku}"}]}',
            },
            {"name": "product", "path": "/products/{sku}", "weight": 1},
        ],
        **overrides,
    }
    return LoadPlan.from_options(options)


def test_the_mix_fills_placeholders_and_follows_the_weights() -> None:
    mix = build_mix(plan(), 8000, ["A-1", "B-2"])
    kinds = Counter(kind for kind, _ in mix.schedule)
    assert kinds[0] / len(mix.schedule) == pytest.approx(0.75, abs=0.03)
    order = next(payload for kind, payload in mix.schedule if kind == 0)
    head, body = order.split(b"\r\n\r\n", 1)
    assert json.loads(body)["items"][0]["sku"] in ("A-1", "B-2")
    assert f"Content-Length: {len(body)}".encode() in head
    assert build_mix(plan(), 8000, ["A-1"]) == build_mix(plan(), 8000, ["A-1"])  # seeded


def test_the_upstream_latency_is_a_distribution_of_the_plan() -> None:
    declared = plan(upstream_latency={"median_ms": 20, "p99_ms": 100}).upstream_latency
    assert declared == Latency(median_ms=20.0, p99_ms=100.0)
    assert plan().upstream_latency is None


def test_concurrency_doubles_up_to_the_cap() -> None:
    assert plan(max_concurrency=64).concurrencies == [1, 2, 4, 8, 16, 32, 64]
    assert plan(max_concurrency=48).concurrencies == [1, 2, 4, 8, 16, 32, 48]
    assert plan(max_concurrency=1).concurrencies == [1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"request": []}, "no \\[\\[request\\]\\]"),
        ({"slo_p95": 10}, "unknown key"),
        ({"step_duration_s": -1}, "negative"),
        ({"request": [{"name": "x", "path": "no-slash"}]}, "must start with /"),
        ({"request": [{"path": "/"}]}, "name"),
        ({"upstream_latency": {"median_ms": 20}}, "exactly median_ms and p99_ms"),
        ({"upstream_latency": {"median_ms": 20, "p99_ms": 5}}, "median_ms <= p99_ms"),
        ({"upstream_latency": {"median_ms": "soon", "p99_ms": 5}}, "soon"),
    ],
)
def test_a_bad_plan_is_refused_with_a_message(options: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan(**options)


def row(concurrency: int, p95: float, errors: float = 0.0, rps: float = 100.0) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "requests": 1000,
        "p95_ms": p95,
        "error_rate": errors,
        "throughput_rps": rps,
        "full_core_rps": rps,
    }


def test_the_knee_is_the_highest_concurrency_within_the_slo_and_error_limit() -> None:
    steps = [row(1, 20), row(2, 30), row(4, 90, errors=0.02), row(8, 200), row(16, 400)]
    summary = summarize(steps, slo_p95_ms=250, max_error_rate=0.01)
    assert summary["knee_concurrency"] == 8
    assert summary["p95_ms_at_knee"] == 200
    assert summary["error_rate_max"] == 0.02


def test_no_knee_when_even_one_user_misses_the_slo() -> None:
    summary = summarize([row(1, 300), row(2, 900)], slo_p95_ms=250, max_error_rate=0.01)
    assert summary["knee_concurrency"] == 0
    assert summary["p95_ms_at_knee"] is None


def test_capacity_is_the_median_of_the_best_steps() -> None:
    steps = [row(1, 5, rps=50), row(2, 5, rps=300), row(4, 5, rps=280), row(8, 5, rps=900)]
    assert capacity_rps(steps) == 300
    assert summarize(steps, 250, 0.01)["max_throughput_rps"] == 900


def step_with(p95: float, errors: int) -> Step:
    return Step(4, 100, errors, 5.0, 20.0, 1.0, p95, p95, p95, p95, {}, {}, {})


def test_stepping_stops_once_clearly_past_the_knee() -> None:
    rules = plan(slo_p95_ms=250)
    assert not past_knee(step_with(p95=900, errors=5), rules)
    assert past_knee(step_with(p95=1001, errors=0), rules)
    assert past_knee(step_with(p95=10, errors=11), rules)


def test_a_cores_share_leaves_out_what_others_took() -> None:
    watch = CoreWatch(frozenset({0}), lambda: 0.0)
    before = CpuSample(at=0.0, cores_busy_s=0.0, own_s=0.0)
    # 10 s: the core was busy 9 s, 6 of them the owner's: others took 3 s of 10.
    assert watch.share(before, CpuSample(10.0, 9.0, 6.0)) == 0.7
    assert watch.share(before, CpuSample(10.0, 5.0, 5.0)) == 1.0
    assert step_with(10, 0).with_shares(0.5, 1.0).full_core_rps == 40.0


def test_a_service_waiting_on_its_upstream_lost_only_the_time_it_waited_for_the_core() -> None:
    watch = CoreWatch(frozenset({0}), lambda: 0.0, lambda: 0.0)
    before = CpuSample(at=0.0, cores_busy_s=0.0, own_s=0.0, waited_s=0.0)
    # Others kept the core busy 8 s of 10, but the service waited runnable only 1 s: it slept
    # on Paystream the rest of the time, so it lost 1 s to them, not 8.
    assert watch.share(before, CpuSample(10.0, 9.5, 1.5, waited_s=1.0)) == 0.9
    # A CPU-bound service waits at least as long as others ran: the core's share, as before.
    assert watch.share(before, CpuSample(10.0, 10.0, 3.0, waited_s=9.0)) == 0.3
    # Unknown waits (the harness's own core): the core's share.
    assert watch.share(CpuSample(0.0, 0.0, 0.0), CpuSample(10.0, 9.5, 1.5)) == 0.2


def test_waits_are_read_for_a_uids_threads() -> None:
    # Every thread of this uid's processes since they started: the test runner's among them.
    assert uid_wait_seconds(os.getuid()) > 0
    assert uid_wait_seconds(2**31 - 7) == 0  # a uid nothing runs as


def test_a_real_sample_counts_this_process_on_its_cores() -> None:
    core = sorted(os.sched_getaffinity(0))[0]
    watch = CoreWatch(frozenset({core}), time.process_time)
    first = watch.sample()
    assert first.cores_busy_s > 0 and first.own_s > 0
    assert 0.05 <= watch.share(first, watch.sample()) <= 1.0


def test_capacity_prefers_steps_no_other_work_disturbed() -> None:
    calm = [dict(row(c, 5, rps=300), core_share=1.0, harness_share=0.9) for c in (1, 2)]
    busy = dict(row(4, 5, rps=900), core_share=1.0, harness_share=0.3)
    assert capacity_rps([*calm, busy]) == 300
    assert capacity_rps([busy]) == 900  # nothing calm: the best there is


def test_capacity_leaves_out_steps_where_the_core_ran_slow() -> None:
    # A neighbour halved the core's speed during two steps without taking any of its time.
    fast = [dict(row(c, 5, rps=700), burst_ms=0.5) for c in (1, 2, 4)]
    slow = [dict(row(c, 5, rps=450), burst_ms=1.0) for c in (8, 16)]
    assert capacity_rps([*slow, *fast]) == 700
    assert capacity_rps(slow) == 450  # nothing calm: the best there is


def test_capacity_leaves_out_steps_where_the_harness_core_ran_slow() -> None:
    fast = [dict(row(c, 5, rps=700), burst_ms=0.5, harness_burst_ms=0.5) for c in (1, 2, 4)]
    slow = [dict(row(c, 5, rps=900), burst_ms=0.5, harness_burst_ms=1.0) for c in (8, 16)]
    assert capacity_rps([*slow, *fast]) == 700
