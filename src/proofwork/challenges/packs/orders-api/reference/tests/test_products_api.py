from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import add_product, error_code


def test_created_product_can_be_read_back(client: TestClient) -> None:
    created = add_product(client, "PAN-1", "12.50", 3)

    assert created == {"sku": "PAN-1", "name": "Product PAN-1", "price": "12.50", "stock": 3}
    assert client.get("/products/PAN-1").json() == created


def test_existing_sku_is_a_conflict(client: TestClient) -> None:
    add_product(client, "PAN")

    response = client.post("/products", json={"sku": "PAN", "name": "Other", "price": "1.00", "stock": 1})

    assert response.status_code == 409
    assert error_code(response) == "duplicate_sku"
    assert client.get("/products/PAN").json()["name"] == "Product PAN"


def test_unknown_product_is_404(client: TestClient) -> None:
    response = client.get("/products/NOPE")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


VALID = {"sku": "MUG", "name": "Mug", "price": "4.99", "stock": 5}


@pytest.mark.parametrize(
    "change",
    [
        {"price": 4.99},
        {"price": "4.9"},
        {"price": "-1.00"},
        {"price": "1000000000.00"},
        {"stock": -1},
        {"stock": 1_000_001},
        {"stock": "5"},
        {"stock": True},
        {"stock": 5.0},
        {"sku": ""},
        {"sku": "has space"},
        {"sku": "x" * 65},
        {"name": ""},
        {"name": None},
        {"colour": "blue"},
    ],
)
def test_invalid_product_is_a_validation_error(client: TestClient, change: dict[str, Any]) -> None:
    response = client.post("/products", json={**VALID, **change})

    assert response.status_code == 422
    assert error_code(response) == "validation_error"


@pytest.mark.parametrize("missing", ["sku", "name", "price", "stock"])
def test_missing_product_field_is_a_validation_error(client: TestClient, missing: str) -> None:
    body = {key: value for key, value in VALID.items() if key != missing}
    response = client.post("/products", json=body)

    assert response.status_code == 422
    assert missing in response.json()["error"]["message"]


@pytest.mark.parametrize("content", [b"", b"{", b'{"sku": "A",}', b"\xff\xfe", b"[" * 100_000])
def test_malformed_json_is_400(client: TestClient, content: bytes) -> None:
    response = client.post("/products", content=content, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"3", b"null"])
def test_json_that_is_not_an_object_is_a_validation_error(client: TestClient, content: bytes) -> None:
    response = client.post("/products", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_walking_the_pages_returns_every_product_once_in_sku_order(client: TestClient) -> None:
    skus = [f"SKU-{n:02d}" for n in range(23)]
    for sku in reversed(skus):
        add_product(client, sku)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
        page = client.get("/products", params=params).json()
        assert len(page["items"]) <= 5
        seen += [item["sku"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == skus


def test_default_page_size_is_20(client: TestClient) -> None:
    for n in range(21):
        add_product(client, f"S{n:02d}")

    page = client.get("/products").json()

    assert len(page["items"]) == 20
    assert page["next_cursor"] is not None


def test_a_full_last_page_has_no_next_cursor(client: TestClient) -> None:
    add_product(client, "A")
    add_product(client, "B")

    assert client.get("/products", params={"limit": 2}).json()["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"cursor": "not-a-cursor"}, {"cursor": "x" * 257}],
)
def test_bad_list_parameters_are_400(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/products", params=params)

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"


def test_unknown_route_and_method_speak_json(client: TestClient) -> None:
    assert error_code(client.get("/nowhere")) == "not_found"
    response = client.delete("/products")
    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
