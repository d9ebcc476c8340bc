"""Request bodies as the contract (openapi.yaml) defines them, validated strictly."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.money import parse_money

MAX_PRICE = Decimal("999999999.99")


def _price(text: str) -> str:
    amount = parse_money(text)
    if amount < 0 or amount > MAX_PRICE:
        raise ValueError(f"must be between 0.00 and {MAX_PRICE}")
    return text


Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Price = Annotated[str, AfterValidator(_price)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ProductCreate(Strict):
    sku: Sku
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    price: Price
    stock: Annotated[int, Field(ge=0, le=1_000_000)]


class OrderLineCreate(Strict):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=100)]


class OrderCreate(Strict):
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    # Any string: an unknown region is the business error `unknown_region`, not a type error.
    region: Annotated[str, StringConstraints(max_length=64)]
    items: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=50)]
    promo_codes: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=32)]],
        Field(max_length=2),
    ] = []
