"""R3 and R9: order limits hold; input the service cannot accept gets a 4xx Error, never a 500."""

from __future__ import annotations

from typing import Any

from proofwork.harness.checks import CheckContext, check

from ._orders import (
    BAD_INPUT,
    ERROR_CODES,
    add_product,
    expect_bad_input,
    expect_error,
    expect_paid,
    expect_priced,
    expect_stock,
    fail,
    order_body,
    place,
    price_order,
)

JSON = {"Content-Type": "application/json"}


def _refused_and_nothing_reserved(
    ctx: CheckContext, body: dict[str, Any], sku: str, stock: int, rule: str
) -> None:
    ex = place(ctx, body)
    expect_bad_input(ex, rule)
    expect_stock(ctx, sku, stock, f"{rule}; a refused order reserves nothing")


@check(
    id="validation.malformed_json_refused",
    rule="R9",
    severity="major",
    title="A malformed JSON body gets a 400 with an error body, not a crash",
    order=400,
)
def malformed_json_refused(ctx: CheckContext) -> None:
    bodies = {
        "cut-off JSON": b'{"customer_id": "c1", "region": "DE", "items": [',
        "plain text": b"two pans please",
        "an empty body": b"",
        "bytes that are not UTF-8": b'{"customer_id": "\xff\xfe"}',
    }
    for label, content in bodies.items():
        for path in ("/orders", "/products"):
            ex = ctx.http.post(path, content=content, headers=JSON)
            expect_bad_input(ex, f"R9 POST {path} with {label} must be refused as bad input")


@check(
    id="validation.wrong_types_refused",
    rule="R9",
    severity="major",
    title="Fields of the wrong type get a 4xx with an error body, not a crash",
    order=410,
)
def wrong_types_refused(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    good = order_body(ctx.unique("cust"), [(sku, 1)])
    cases: dict[str, dict[str, Any]] = {
        "customer_id as a number": {**good, "customer_id": 42},
        "region as a number": {**good, "region": 19},
        "items as text": {**good, "items": "two pans"},
        "items as an object": {**good, "items": {"sku": sku, "quantity": 1}},
        "a line that is not an object": {**good, "items": [sku]},
        "a sku as a number": {**good, "items": [{"sku": 7, "quantity": 1}]},
        # A word, not "3" or true: pydantic's default (lax) mode reads those as 3 and 1, and
        # such leniency breaks no business rule.
        "a quantity as a word": {**good, "items": [{"sku": sku, "quantity": "three"}]},
        "promo_codes as text": {**good, "promo_codes": "WELCOME10"},
    }
    for label, body in cases.items():
        _refused_and_nothing_reserved(ctx, body, sku, 10, f"R9 an order with {label}")


@check(
    id="validation.missing_fields_refused",
    rule="R9",
    severity="major",
    title="An order missing a required field gets a 4xx with an error body",
    order=420,
)
def missing_fields_refused(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    good = order_body(ctx.unique("cust"), [(sku, 1)])
    for field in ("customer_id", "region", "items"):
        body = {k: v for k, v in good.items() if k != field}
        _refused_and_nothing_reserved(ctx, body, sku, 10, f"R9 an order without {field}")
    for field in ("sku", "quantity"):
        line = {k: v for k, v in {"sku": sku, "quantity": 1}.items() if k != field}
        body = {**good, "items": [line]}
        _refused_and_nothing_reserved(ctx, body, sku, 10, f"R9 an order line without {field}")


@check(
    id="validation.order_needs_one_to_fifty_lines",
    rule="R3",
    severity="major",
    title="An order with no lines, or more than 50, is refused",
    order=430,
)
def order_needs_one_to_fifty_lines(ctx: CheckContext) -> None:
    skus = [add_product(ctx, price="1.00", stock=10) for _ in range(51)]
    customer = ctx.unique("cust")
    ex = place(ctx, order_body(customer, []))
    expect_bad_input(ex, "R3 an order has at least one line; an empty order")
    body = order_body(customer, [(sku, 1) for sku in skus])
    _refused_and_nothing_reserved(ctx, body, skus[0], 10, "R3 an order has at most 50 lines; 51")


def _bad_second_line_refused(ctx: CheckContext, qty: int, rule: str) -> None:
    """A valid line, then one of `qty`: refused, and the valid line reserves nothing either."""
    first, second = add_product(ctx, stock=500), add_product(ctx, stock=500)
    ex = place(ctx, order_body(ctx.unique("cust"), [(first, 2), (second, qty)]))
    expect_bad_input(ex, rule)
    expect_stock(ctx, first, 500, f"{rule}; a refused order reserves nothing, not its first line")
    expect_stock(ctx, second, 500, f"{rule}; a refused order reserves nothing")
    if ctx.provider.charges:
        raise fail(f"{rule}; a refused order must not be charged", ex)


@check(
    id="validation.quantity_between_1_and_100",
    rule="R3",
    severity="major",
    title="A line quantity of 0 or above 100 is refused, even after a valid line",
    order=440,
)
def quantity_between_1_and_100(ctx: CheckContext) -> None:
    for qty in (0, 101):
        _bad_second_line_refused(ctx, qty, f"R3 quantity is 1 to 100; a second line of {qty}")


@check(
    id="validation.negative_quantity_refused",
    rule="R3",
    severity="critical",
    title="A negative quantity is refused: it would add stock and take money off the order",
    order=445,
)
def negative_quantity_refused(ctx: CheckContext) -> None:
    _bad_second_line_refused(ctx, -1, "R3 quantity is 1 to 100; a second line of -1")


@check(
    id="validation.quantity_must_be_whole",
    rule="R3",
    severity="major",
    title="A fractional quantity (2.5) is refused",
    order=450,
)
def quantity_must_be_whole(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    body = {
        "customer_id": ctx.unique("cust"),
        "region": "DE",
        "items": [{"sku": sku, "quantity": 2.5}],
    }
    _refused_and_nothing_reserved(ctx, body, sku, 10, "R3 quantity is a whole number; 2.5")


@check(
    id="validation.limits_are_inclusive",
    rule="R3",
    severity="major",
    title="An order of 50 lines, one of them for 100 units, is accepted",
    order=460,
)
def limits_are_inclusive(ctx: CheckContext) -> None:
    skus = [add_product(ctx, price="1.00", stock=100) for _ in range(50)]
    lines = [(sku, 100 if i == 0 else 1) for i, sku in enumerate(skus)]
    ex = place(ctx, order_body(ctx.unique("cust"), lines))
    rule = "R3 an order may have 50 lines and a line may have quantity 100"
    order = expect_paid(ex, rule)
    expect_priced(order, price_order([("1.00", qty) for _, qty in lines], "DE"), ex, rule)
    expect_stock(ctx, skus[0], 0, "R6 ordering all 100 units leaves none")


@check(
    id="validation.unknown_sku_refused",
    rule="R3",
    severity="major",
    title="An order naming a product that does not exist is refused and reserves nothing",
    order=470,
)
def unknown_sku_refused(ctx: CheckContext) -> None:
    sku = add_product(ctx, stock=10)
    body = order_body(ctx.unique("cust"), [(sku, 2), (ctx.unique("nosuch"), 1)])
    ex = place(ctx, body)
    expect_error(ex, statuses=(422, 404, 400), codes={"unknown_sku"}, rule="R3 an unknown sku")
    expect_stock(ctx, sku, 10, "R3 an order refused for an unknown sku reserves nothing")


ODD_BODIES: dict[str, bytes] = {
    "a JSON array": b"[]",
    "JSON null": b"null",
    "a JSON string": b'"order"',
    "a JSON number": b"42",
    "a line that is null": b'{"customer_id": "c", "region": "DE", "items": [null]}',
    "a line that is a list": b'{"customer_id": "c", "region": "DE", "items": [[]]}',
    "a huge quantity": b'{"customer_id": "c", "region": "DE", '
    b'"items": [{"sku": "x", "quantity": 100000000000000000000000000000}]}',
    "a quantity of 1e400": b'{"customer_id": "c", "region": "DE", '
    b'"items": [{"sku": "x", "quantity": 1e400}]}',
    "an empty customer_id": b'{"customer_id": "", "region": "DE", '
    b'"items": [{"sku": "x", "quantity": 1}]}',
    "promo codes that are numbers": b'{"customer_id": "c", "region": "DE", '
    b'"items": [{"sku": "x", "quantity": 1}], "promo_codes": [10, 15]}',
}


@check(
    id="validation.odd_input_never_crashes",
    rule="R9",
    severity="major",
    title="Odd but well-formed input is refused cleanly, never with a 500",
    order=480,
)
def odd_input_never_crashes(ctx: CheckContext) -> None:
    for label, content in ODD_BODIES.items():
        ex = ctx.http.post("/orders", content=content, headers=JSON)
        rule = f"R9 an order body with {label} must be refused with 400 or 422"
        expect_error(ex, statuses=BAD_INPUT, codes=ERROR_CODES, rule=rule)


@check(
    id="validation.listing_orders_needs_a_customer",
    rule="R12",
    severity="major",
    title="Listing orders without saying whose is refused with an error body",
    order=490,
)
def listing_orders_needs_a_customer(ctx: CheckContext) -> None:
    for params in ({}, {"customer_id": ""}):
        ex = ctx.http.get("/orders", params=params)
        expect_bad_input(ex, f"R12 GET /orders needs a customer_id (sent {params or 'none'})")
