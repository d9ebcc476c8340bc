"""HTTP routes: translate requests to calls and results to the contract's JSON. No rules live here."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from app import catalogue, orders
from app.catalogue import Product
from app.checkout import Checkout
from app.db import Database
from app.errors import ApiError, describe_validation_errors
from app.money import format_money, parse_money
from app.orders import Order, Status
from app.pagination import Page
from app.schemas import OrderCreate, ProductCreate

Model = TypeVar("Model", bound=BaseModel)
router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=256)]


@dataclass(frozen=True)
class Services:
    db: Database
    checkout: Checkout


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


def json_body(model: type[Model]) -> Callable[[Request], Awaitable[Model]]:
    """A dependency that parses the body as JSON (400 invalid_json) into `model` (422 validation_error)."""

    async def parse(request: Request) -> Model:
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise ApiError(400, "invalid_json", "the request body is not valid JSON") from None
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ApiError(422, "validation_error", describe_validation_errors(exc.errors())) from None

    return parse


Deps = Annotated[Services, Depends(services)]


@router.get("/healthz")
def health(deps: Deps) -> JSONResponse:
    if deps.db.ping():
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


@router.post("/products", status_code=201)
def create_product(deps: Deps, body: Annotated[ProductCreate, Depends(json_body(ProductCreate))]) -> dict[str, Any]:
    product = Product(sku=body.sku, name=body.name, price=parse_money(body.price), stock=body.stock)
    return product_json(catalogue.create_product(deps.db, product))


@router.get("/products")
def list_products(deps: Deps, limit: Limit = 20, cursor: Cursor = None) -> dict[str, Any]:
    return page_json(catalogue.list_products(deps.db, limit=limit, cursor=cursor), product_json)


@router.get("/products/{sku}")
def get_product(deps: Deps, sku: str) -> dict[str, Any]:
    return product_json(catalogue.get_product(deps.db, sku))


@router.post("/orders")
def create_order(
    deps: Deps,
    body: Annotated[OrderCreate, Depends(json_body(OrderCreate))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)] = None,
) -> JSONResponse:
    placement = deps.checkout.place(body, idempotency_key)
    order = placement.order
    if order.status is Status.PAYMENT_FAILED:
        raise ApiError(402, "payment_declined", "the payment was declined; nothing was charged", order_id=order.id)
    return JSONResponse(order_json(order), status_code=_created_status(placement.replayed, order.status))


@router.get("/orders")
def list_orders(
    deps: Deps,
    customer_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Limit = 20,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = orders.list_for_customer(deps.db, customer_id, limit=limit, cursor=cursor)
    return page_json(page, order_json)


@router.get("/orders/{order_id}")
def get_order(deps: Deps, order_id: str) -> dict[str, Any]:
    return order_json(orders.get(deps.db, order_id))


def _created_status(replayed: bool, status: Status) -> int:
    """200 for a replay of an earlier request, 201 when paid, 202 while payment is pending."""
    if replayed:
        return 200
    return 201 if status is Status.PAID else 202


def product_json(product: Product) -> dict[str, Any]:
    return {"sku": product.sku, "name": product.name, "price": format_money(product.price), "stock": product.stock}


def order_json(order: Order) -> dict[str, Any]:
    money = {name: format_money(getattr(order, name)) for name in ("subtotal", "discount", "tax", "total")}
    return {
        "id": order.id,
        "customer_id": order.customer_id,
        "region": order.region,
        "status": order.status.value,
        "items": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": format_money(line.unit_price),
                "line_total": format_money(line.total),
            }
            for line in order.items
        ],
        "promo_codes": list(order.promo_codes),
        **money,
        "currency": "EUR",
        "created_at": order.created_at,
    }


def page_json(page: Page[Any], render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}
