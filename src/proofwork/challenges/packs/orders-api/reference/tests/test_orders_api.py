import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import FakePaystream, add_product, charge_body, error_code, order_body, stock_of

MONEY = re.compile(r"^-?[0-9]+\.[0-9]{2}$")


@pytest.fixture
def shop(client: TestClient) -> TestClient:
    add_product(client, "PAN", "12.25", 10)
    add_product(client, "CUP", "0.10", 100)
    return client


def test_placing_an_order_charges_its_total_and_answers_201(shop: TestClient, paystream: FakePaystream) -> None:
    response = shop.post("/orders", json=order_body(("PAN", 2), region="IE", promos=["SPRING15", "FIVEOFF"]))

    assert response.status_code == 201
    order = response.json()
    assert order["status"] == "paid"
    assert order["items"] == [{"sku": "PAN", "quantity": 2, "unit_price": "12.25", "line_total": "24.50"}]
    assert (order["subtotal"], order["discount"], order["tax"], order["total"]) == ("24.50", "8.68", "3.64", "19.46")
    assert order["promo_codes"] == ["SPRING15", "FIVEOFF"]
    assert order["currency"] == "EUR"
    assert order["id"].startswith("ord_")
    [charge] = paystream.requests
    assert charge_body(charge) == {"amount": "19.46", "currency": "EUR", "reference": order["id"]}
    assert charge.headers["Idempotency-Key"]


def test_money_is_exact_and_always_two_decimal_strings(shop: TestClient) -> None:
    order = shop.post("/orders", json=order_body(("CUP", 3))).json()

    assert (order["subtotal"], order["tax"], order["total"]) == ("0.30", "0.06", "0.36")
    money = [order[name] for name in ("subtotal", "discount", "tax", "total")]
    money += [line[name] for line in order["items"] for name in ("unit_price", "line_total")]
    assert all(isinstance(value, str) and MONEY.match(value) for value in money)


def test_placed_order_reserves_stock_and_can_be_read_back(shop: TestClient) -> None:
    placed = shop.post("/orders", json=order_body(("PAN", 3), ("CUP", 1))).json()

    assert shop.get(f"/orders/{placed['id']}").json() == placed
    assert stock_of(shop, "PAN") == 7
    assert stock_of(shop, "CUP") == 99


def test_unknown_order_is_404(client: TestClient) -> None:
    response = client.get("/orders/ord_missing")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_ordering_more_than_is_left_reserves_nothing(shop: TestClient, paystream: FakePaystream) -> None:
    response = shop.post("/orders", json=order_body(("CUP", 5), ("PAN", 11)))

    assert response.status_code == 409
    assert error_code(response) == "out_of_stock"
    assert (stock_of(shop, "CUP"), stock_of(shop, "PAN")) == (100, 10)
    assert paystream.requests == []


def test_the_same_sku_on_two_lines_counts_against_one_stock(shop: TestClient) -> None:
    response = shop.post("/orders", json=order_body(("PAN", 6), ("PAN", 5)))

    assert response.status_code == 409
    assert stock_of(shop, "PAN") == 10


def test_the_last_units_can_be_sold(shop: TestClient) -> None:
    assert shop.post("/orders", json=order_body(("PAN", 10))).status_code == 201
    assert stock_of(shop, "PAN") == 0
    assert shop.post("/orders", json=order_body(("PAN", 1))).status_code == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (order_body(("NOPE", 1)), "unknown_sku"),
        (order_body(("PAN", 1), ("NOPE", 1)), "unknown_sku"),
        (order_body(("PAN", 1), region="UK"), "unknown_region"),
        (order_body(("PAN", 1), promos=["BOGUS"]), "invalid_promo"),
        (order_body(("PAN", 1), promos=["WELCOME10", "SPRING15"]), "promo_not_combinable"),
        (order_body(("PAN", 2), promos=["FIVEOFF", "FIVEOFF"]), "promo_not_combinable"),
        (order_body(("PAN", 1), promos=["FIVEOFF"]), "promo_not_applicable"),
    ],
)
def test_broken_business_rules_are_422_and_order_nothing(
    shop: TestClient, paystream: FakePaystream, body: Any, code: str
) -> None:
    response = shop.post("/orders", json=body)

    assert response.status_code == 422
    assert error_code(response) == code
    assert stock_of(shop, "PAN") == 10
    assert paystream.requests == []
    assert shop.get("/orders", params={"customer_id": "cust-1"}).json()["items"] == []


def _without(key: str) -> dict[str, Any]:
    body: dict[str, Any] = order_body(("PAN", 1))
    del body[key]
    return body


@pytest.mark.parametrize(
    "body",
    [
        _without("customer_id"),
        _without("region"),
        _without("items"),
        order_body(),
        order_body(("PAN", 0)),
        order_body(("PAN", 101)),
        order_body(("PAN", -1)),
        order_body(*[("PAN", 1)] * 51),
        order_body(("PAN", 1), promos=["WELCOME10", "FIVEOFF", "SPRING15"]),
        order_body(("PAN", 1), promos="WELCOME10"),
        order_body(("PAN", 1), promos=[""]),
        order_body(("PAN", 1), customer=""),
        order_body(("PAN", 1), region=19),
        {**order_body(("PAN", 1)), "customer_id": 7},
        {**order_body(("PAN", 1)), "items": [{"sku": "PAN", "quantity": "1"}]},
        {**order_body(("PAN", 1)), "items": [{"sku": "PAN", "quantity": 1.5}]},
        {**order_body(("PAN", 1)), "items": [{"sku": "PAN"}]},
        {**order_body(("PAN", 1)), "items": [{"sku": "PAN", "quantity": 1, "note": "x"}]},
        {**order_body(("PAN", 1)), "items": "PAN"},
        {**order_body(("PAN", 1)), "gift": True},
    ],
)
def test_malformed_order_is_a_validation_error(shop: TestClient, body: Any) -> None:
    response = shop.post("/orders", json=body)

    assert response.status_code == 422
    assert error_code(response) == "validation_error"


def test_malformed_order_json_is_400(shop: TestClient) -> None:
    response = shop.post("/orders", content=b'{"customer_id": ', headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_json"


@pytest.mark.parametrize("key", ["", "k" * 129])
def test_bad_idempotency_key_header_is_400(shop: TestClient, key: str) -> None:
    response = shop.post("/orders", json=order_body(("PAN", 1)), headers={"Idempotency-Key": key})

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"


def test_customer_orders_are_listed_newest_first_across_pages(shop: TestClient) -> None:
    placed = [shop.post("/orders", json=order_body(("CUP", 1), customer="alice")).json()["id"] for _ in range(7)]
    shop.post("/orders", json=order_body(("CUP", 1), customer="bob"))

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"customer_id": "alice", "limit": 3} | ({"cursor": cursor} if cursor else {})
        page = shop.get("/orders", params=params).json()
        seen += [order["id"] for order in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(placed))


def test_orders_placed_after_a_cursor_was_issued_do_not_shift_later_pages(shop: TestClient) -> None:
    first = [shop.post("/orders", json=order_body(("CUP", 1))).json()["id"] for _ in range(4)]
    page = shop.get("/orders", params={"customer_id": "cust-1", "limit": 2}).json()
    shop.post("/orders", json=order_body(("CUP", 1)))

    rest = shop.get("/orders", params={"customer_id": "cust-1", "limit": 2, "cursor": page["next_cursor"]}).json()

    assert [o["id"] for o in page["items"] + rest["items"]] == list(reversed(first))


@pytest.mark.parametrize(
    "params",
    [{}, {"customer_id": ""}, {"customer_id": "a", "limit": 0}, {"customer_id": "a", "cursor": "bad"}],
)
def test_bad_order_list_parameters_are_400(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get("/orders", params=params)

    assert response.status_code == 400
    assert error_code(response) == "invalid_parameter"


def test_a_product_cursor_is_refused_on_the_orders_list(client: TestClient) -> None:
    for sku in ("A", "B"):
        add_product(client, sku)
    cursor = client.get("/products", params={"limit": 1}).json()["next_cursor"]

    response = client.get("/orders", params={"customer_id": "a", "cursor": cursor})

    assert response.status_code == 400


def test_a_customer_without_orders_gets_an_empty_page(client: TestClient) -> None:
    assert client.get("/orders", params={"customer_id": "nobody"}).json() == {"items": [], "next_cursor": None}
