"""R6 and R8 under real concurrency: a live server on loopback, many clients at the same moment."""

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from app.config import Settings
from app.main import create_app
from tests.support import FakePaystream, order_body


@pytest.fixture
def live_url(settings: Settings, paystream: FakePaystream) -> Iterator[str]:
    app = create_app(settings, payments_transport=httpx.MockTransport(paystream), run_worker=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    host, port = sock.getsockname()
    yield f"http://{host}:{port}"
    server.should_exit = True
    thread.join(10)
    sock.close()


def place_concurrently(url: str, bodies: list[object], headers: dict[str, str] | None = None) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))

    def place(body: object) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=10) as client:
            barrier.wait()
            return client.post("/orders", json=body, headers=headers)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(place, bodies))


def test_many_customers_ordering_the_last_units_never_oversell(live_url: str, paystream: FakePaystream) -> None:
    httpx.post(f"{live_url}/products", json={"sku": "LAST", "name": "Last", "price": "9.99", "stock": 5})

    responses = place_concurrently(live_url, [order_body(("LAST", 1), customer=f"c{n}") for n in range(20)])

    assert Counter(r.status_code for r in responses) == {201: 5, 409: 15}
    assert httpx.get(f"{live_url}/products/LAST").json()["stock"] == 0
    assert len(paystream.succeeded_charges) == 5


def test_concurrent_retries_with_one_key_place_one_order(live_url: str, paystream: FakePaystream) -> None:
    httpx.post(f"{live_url}/products", json={"sku": "PAN", "name": "Pan", "price": "9.99", "stock": 50})

    responses = place_concurrently(live_url, [order_body(("PAN", 1))] * 8, headers={"Idempotency-Key": "same"})

    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert sorted(r.status_code for r in responses).count(201) == 1
    assert httpx.get(f"{live_url}/products/PAN").json()["stock"] == 49
    assert len(paystream.succeeded_charges) == 1
