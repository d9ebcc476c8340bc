"""Products and their stock (R1, R6)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.db import Database
from app.errors import ApiError
from app.money import from_cents, to_cents
from app.pagination import Page, decode_cursor, encode_cursor


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal
    stock: int


def _product(row: sqlite3.Row) -> Product:
    return Product(sku=row["sku"], name=row["name"], price=from_cents(row["price_cents"]), stock=row["stock"])


def create_product(db: Database, product: Product) -> Product:
    """Add a product; an existing sku is a 409 duplicate_sku."""
    try:
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO products (sku, name, price_cents, stock) VALUES (?, ?, ?, ?)",
                (product.sku, product.name, to_cents(product.price), product.stock),
            )
    except sqlite3.IntegrityError:
        raise ApiError(409, "duplicate_sku", f"a product with sku {product.sku!r} already exists") from None
    return product


def get_product(db: Database, sku: str) -> Product:
    """Return one product or raise a 404."""
    with db.connection() as conn:
        row = conn.execute("SELECT * FROM products WHERE sku = ?", (sku,)).fetchone()
    if row is None:
        raise ApiError(404, "not_found", f"no product with sku {sku!r}")
    return _product(row)


def list_products(db: Database, *, limit: int, cursor: str | None) -> Page[Product]:
    """One page of products in sku order."""
    after = decode_cursor(cursor, "products", str) if cursor else ""
    with db.connection() as conn:
        rows = conn.execute("SELECT * FROM products WHERE sku > ? ORDER BY sku LIMIT ?", (after, limit + 1)).fetchall()
    products = [_product(row) for row in rows[:limit]]
    more = len(rows) > limit
    return Page(products, encode_cursor("products", products[-1].sku) if more else None)


def prices(conn: sqlite3.Connection, skus: Iterable[str]) -> dict[str, Decimal]:
    """Current prices of the given skus; unknown skus are left out."""
    wanted = sorted(set(skus))
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(f"SELECT sku, price_cents FROM products WHERE sku IN ({marks})", wanted)
    return {row["sku"]: from_cents(row["price_cents"]) for row in rows}


def reserve(conn: sqlite3.Connection, lines: Sequence[tuple[str, int]]) -> None:
    """Take stock for every (sku, quantity) inside the caller's transaction, or raise a 409."""
    for sku, quantity in lines:
        taken = conn.execute(
            "UPDATE products SET stock = stock - ? WHERE sku = ? AND stock >= ?", (quantity, sku, quantity)
        ).rowcount
        if taken != 1:
            raise ApiError(409, "out_of_stock", f"not enough stock left for {sku!r}")


def release(conn: sqlite3.Connection, lines: Sequence[tuple[str, int]]) -> None:
    """Put stock back on the shelf inside the caller's transaction."""
    conn.executemany("UPDATE products SET stock = stock + ? WHERE sku = ?", [(q, s) for s, q in lines])
