"""R1 catalogue: products can be added, read back, and a sku is never added twice."""

from __future__ import annotations

from typing import Any

from proofwork.harness.checks import CheckContext, check

from ._orders import add_product, answered, expect_bad_input, expect_error, fail, json_object, money


@check(
    id="catalogue.add_and_read_product",
    rule="R1",
    severity="major",
    title="A new product can be added and read back",
    order=100,
)
def add_and_read_product(ctx: CheckContext) -> None:
    sku = ctx.unique("sku")
    sent = {"sku": sku, "name": "Cast-iron skillet 26 cm", "price": "12.50", "stock": 7}
    ex = ctx.http.post("/products", json=sent)
    if ex.status != 201:
        raise fail(f"R1 adding a new product should answer 201; the service {answered(ex)}", ex)
    _expect_same_product(json_object(ex, "the new product"), sent, ex, "the created product")
    ex = ctx.http.get(f"/products/{sku}")
    if ex.status != 200:
        raise fail(f"R1 a product just added should be readable; the service {answered(ex)}", ex)
    _expect_same_product(json_object(ex, "the product"), sent, ex, f"GET /products/{sku}")


def _expect_same_product(got: dict[str, Any], sent: dict[str, Any], ex: Any, where: str) -> None:
    money(got.get("price"), f"{where}'s price", ex)
    for name, value in sent.items():
        if got.get(name) != value:
            raise fail(f"R1 {where} should have {name} {value!r}, got {got.get(name)!r}", ex)


@check(
    id="catalogue.duplicate_sku_conflicts",
    rule="R1",
    severity="critical",
    title="Adding a sku that already exists is refused as a conflict",
    order=110,
)
def duplicate_sku_conflicts(ctx: CheckContext) -> None:
    sku = add_product(ctx, price="10.00", stock=3)
    again = {"sku": sku, "name": "Imposter", "price": "99.00", "stock": 50}
    ex = ctx.http.post("/products", json=again)
    expect_error(ex, statuses=(409,), codes={"duplicate_sku"}, rule="R1 a sku that already exists")
    ex = ctx.http.get(f"/products/{sku}")
    product = json_object(ex, "the product")
    if (product.get("price"), product.get("stock")) != ("10.00", 3):
        raise fail(
            "R1 a refused duplicate must leave the original product alone: expected price "
            f"10.00 and stock 3, got {product.get('price')!r} and {product.get('stock')!r}",
            ex,
        )


@check(
    id="catalogue.unknown_product_is_404",
    rule="R9",
    severity="major",
    title="Asking for a product that does not exist answers 404 with an error body",
    order=120,
)
def unknown_product_is_404(ctx: CheckContext) -> None:
    ex = ctx.http.get(f"/products/{ctx.unique('nosuch')}")
    expect_error(ex, statuses=(404,), codes={"not_found"}, rule="R9 an unknown product is 404")


BAD_PRICES: list[tuple[str, Any]] = [
    ("a JSON number", 12.5),
    ("one decimal", "12.5"),
    ("three decimals", "12.505"),
    ("not a number", "twelve"),
    ("empty", ""),
]


@check(
    id="catalogue.price_must_be_a_money_string",
    rule="R2",
    severity="major",
    title="A product price must be a string with exactly two decimals",
    order=130,
)
def price_must_be_a_money_string(ctx: CheckContext) -> None:
    for label, price in BAD_PRICES:
        sku = ctx.unique("sku")
        body = {"sku": sku, "name": "Bad price", "price": price, "stock": 1}
        ex = ctx.http.post("/products", json=body)
        expect_bad_input(
            ex,
            f"R2 money is a string with two decimals; a price given as {label} "
            f"({price!r}) must be refused",
        )
        if ctx.http.get(f"/products/{sku}").status != 404:
            raise fail(f"R2 a product refused for its price ({label}) was created anyway", ex)


BAD_PRODUCTS: list[tuple[str, dict[str, Any]]] = [
    ("without a name", {"price": "1.00", "stock": 1}),
    ("without a price", {"name": "x", "stock": 1}),
    ("without a stock", {"name": "x", "price": "1.00"}),
    ("with negative stock", {"name": "x", "price": "1.00", "stock": -1}),
    ("with stock as a word", {"name": "x", "price": "1.00", "stock": "five"}),
    ("with a fractional stock", {"name": "x", "price": "1.00", "stock": 2.5}),
]

BAD_SKUS: list[tuple[str, Any]] = [
    ("an empty sku", ""),
    ("a sku with spaces", "bad sku"),
    ("a sku as a number", 42),
]


@check(
    id="catalogue.invalid_product_refused",
    rule="R9",
    severity="major",
    title="An incomplete or wrong-typed product is refused with a clear error, not a crash",
    order=140,
)
def invalid_product_refused(ctx: CheckContext) -> None:
    for label, fields in BAD_PRODUCTS:
        sku = ctx.unique("sku")
        ex = ctx.http.post("/products", json={"sku": sku, **fields})
        expect_bad_input(ex, f"R9 a product {label} must be refused as bad input")
    for label, bad_sku in BAD_SKUS:
        body = {"sku": bad_sku, "name": "x", "price": "1.00", "stock": 1}
        ex = ctx.http.post("/products", json=body)
        expect_bad_input(ex, f"R9 a product with {label} must be refused as bad input")
