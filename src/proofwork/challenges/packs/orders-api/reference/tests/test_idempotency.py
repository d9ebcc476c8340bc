"""R8: retries with the same Idempotency-Key never order or charge twice."""

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ClientFactory
from tests.support import FakePaystream, add_product, error_code, order_body, stock_of


@pytest.fixture
def shop(client: TestClient) -> TestClient:
    add_product(client, "PAN", "12.25", 10)
    return client


def test_a_retry_returns_the_same_order_without_reserving_or_charging_again(
    shop: TestClient, paystream: FakePaystream
) -> None:
    body = order_body(("PAN", 2), promos=["WELCOME10"])
    first = shop.post("/orders", json=body, headers={"Idempotency-Key": "retry-1"})

    again = shop.post("/orders", json=body, headers={"Idempotency-Key": "retry-1"})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert stock_of(shop, "PAN") == 8
    assert len(paystream.requests) == 1


def test_key_order_and_whitespace_of_the_body_do_not_matter(shop: TestClient) -> None:
    headers = {"Idempotency-Key": "retry-2", "content-type": "application/json"}
    first = shop.post(
        "/orders", content=b'{"customer_id":"c","region":"DE","items":[{"sku":"PAN","quantity":1}]}', headers=headers
    )
    again = shop.post(
        "/orders",
        content=b'{ "items": [ {"quantity": 1, "sku": "PAN"} ], "region": "DE", "customer_id": "c" }',
        headers=headers,
    )

    assert again.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_a_conflict(shop: TestClient) -> None:
    shop.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-3"})

    response = shop.post("/orders", json=order_body(("PAN", 2)), headers={"Idempotency-Key": "retry-3"})

    assert response.status_code == 409
    assert error_code(response) == "idempotency_conflict"
    assert stock_of(shop, "PAN") == 9


def test_without_a_key_each_request_is_a_new_order(shop: TestClient) -> None:
    ids = {shop.post("/orders", json=order_body(("PAN", 1))).json()["id"] for _ in range(2)}
    assert len(ids) == 2


def test_a_retry_of_a_declined_order_is_declined_again_without_a_new_charge(
    shop: TestClient, paystream: FakePaystream
) -> None:
    paystream.default = "decline"
    first = shop.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-4"})
    paystream.default = "succeed"

    again = shop.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-4"})

    assert again.status_code == 402
    assert again.json()["error"]["order_id"] == first.json()["error"]["order_id"]
    assert len(paystream.requests) == 1
    assert stock_of(shop, "PAN") == 10


def test_a_retry_while_payment_is_pending_returns_the_pending_order(shop: TestClient, paystream: FakePaystream) -> None:
    paystream.default = "error503"
    first = shop.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-5"})

    again = shop.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-5"})

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "payment_pending"


def test_a_refused_request_does_not_use_up_its_key(shop: TestClient) -> None:
    refused = shop.post("/orders", json=order_body(("PAN", 11)), headers={"Idempotency-Key": "retry-6"})
    add_product(shop, "POT", "30.00", 5)

    placed = shop.post("/orders", json=order_body(("POT", 1)), headers={"Idempotency-Key": "retry-6"})

    assert refused.status_code == 409
    assert placed.status_code == 201


def test_keys_survive_a_restart(client_factory: ClientFactory, paystream: FakePaystream) -> None:
    first = client_factory()
    add_product(first, "PAN")
    placed = first.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-7"})

    again = client_factory().post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": "retry-7"})

    assert again.json()["id"] == placed.json()["id"]
    assert len(paystream.requests) == 1
