import os
import uuid
from datetime import datetime

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(title="Fernbrook Orders")

PAYMENTS_URL = os.environ.get("PAYMENTS_URL", "http://localhost:9000")

products = {}  # sku -> product
orders = []


def product_to_json(product):
    return {
        "sku": product["sku"],
        "name": product["name"],
        "price": f"{product['price']:.2f}",
        "stock": product["stock"],
    }


def order_to_json(order):
    items = []
    for item in order["items"]:
        items.append(
            {
                "sku": item["sku"],
                "quantity": item["quantity"],
                "unit_price": f"{item['unit_price']:.2f}",
                "line_total": f"{item['line_total']:.2f}",
            }
        )
    return {
        "id": order["id"],
        "customer_id": order["customer_id"],
        "region": order["region"],
        "status": order["status"],
        "items": items,
        "promo_codes": order["promo_codes"],
        "subtotal": f"{order['subtotal']:.2f}",
        "discount": f"{order['discount']:.2f}",
        "tax": f"{order['tax']:.2f}",
        "total": f"{order['total']:.2f}",
        "currency": "EUR",
        "created_at": order["created_at"],
    }


DEMO_PRODUCTS = [
    {"sku": "PAN-24", "name": "Cast iron pan 24cm", "price": "39.90", "stock": 25},
    {"sku": "PAN-28", "name": "Cast iron pan 28cm", "price": "49.90", "stock": 20},
    {"sku": "KNIFE-CHEF", "name": "Chef's knife", "price": "59.00", "stock": 15},
    {"sku": "BOARD-OAK", "name": "Oak cutting board", "price": "24.50", "stock": 30},
    {"sku": "MUG-WHITE", "name": "Stoneware mug", "price": "8.95", "stock": 100},
    {"sku": "SPOON-WOOD", "name": "Wooden spoon", "price": "3.45", "stock": 200},
]


@app.get("/")
async def index():
    return {"service": "orders", "products": len(products), "orders": len(orders)}


@app.post("/demo/seed")
async def seed_demo_products():
    count = 0
    for p in DEMO_PRODUCTS:
        if p["sku"] not in products:
            products[p["sku"]] = {
                "sku": p["sku"],
                "name": p["name"],
                "price": float(p["price"]),
                "stock": p["stock"],
            }
            count = count + 1
    return {"created": count}


@app.get("/stats")
async def stats():
    revenue = 0.0
    paid = 0
    failed = 0
    items_sold = 0
    for order in orders:
        if order["status"] == "paid":
            paid = paid + 1
            revenue = revenue + order["total"]
            for item in order["items"]:
                items_sold = items_sold + item["quantity"]
        else:
            failed = failed + 1
    low_stock = []
    for sku in products:
        if products[sku]["stock"] < 5:
            low_stock.append(sku)
    return {
        "orders_paid": paid,
        "orders_failed": failed,
        "items_sold": items_sold,
        "revenue": f"{revenue:.2f}",
        "low_stock": low_stock,
    }


# ---------------- products ----------------


@app.post("/products", status_code=201)
async def create_product(request: Request):
    data = await request.json()
    sku = data["sku"]
    if sku in products:
        return JSONResponse(status_code=400, content={"detail": "Product already exists"})

    product = {
        "sku": sku,
        "name": data["name"],
        "price": float(data["price"]),
        "stock": int(data["stock"]),
    }
    products[sku] = product
    return product_to_json(product)


@app.get("/products")
async def list_products(limit: int = 20, cursor: str = None):
    result = []
    for sku in products:
        result.append(product_to_json(products[sku]))
    return {"items": result, "next_cursor": None}


@app.get("/products/{sku}")
async def get_product(sku: str):
    if sku not in products:
        return JSONResponse(status_code=404, content={"detail": "Product not found"})
    return product_to_json(products[sku])


@app.post("/products/{sku}/restock")
async def restock_product(sku: str, request: Request):
    data = await request.json()
    if sku not in products:
        return JSONResponse(status_code=404, content={"detail": "Product not found"})
    products[sku]["stock"] = products[sku]["stock"] + int(data["quantity"])
    return product_to_json(products[sku])


# ---------------- cart ----------------


@app.post("/cart/total")
async def cart_total(request: Request):
    """Used by the shop front to show the total before the customer clicks "order"."""
    data = await request.json()
    region = data["region"]
    promo_codes = data.get("promo_codes", [])

    subtotal = 0.0
    for item in data["items"]:
        product = products[item["sku"]]
        subtotal = subtotal + product["price"] * item["quantity"]

    # promo codes
    price_after_promos = subtotal
    for code in promo_codes:
        if code == "WELCOME10":
            price_after_promos = price_after_promos - price_after_promos * 0.10
        elif code == "SPRING15":
            price_after_promos = price_after_promos - price_after_promos * 0.15
        elif code == "FIVEOFF":
            if subtotal >= 20:
                price_after_promos = price_after_promos - 5
    if price_after_promos < 0:
        price_after_promos = 0
    discount = subtotal - price_after_promos

    # tax
    if region == "DE":
        tax = round(price_after_promos * 0.19, 2)
    elif region == "FR":
        tax = round(price_after_promos * 0.20, 2)
    elif region == "NL":
        tax = round(price_after_promos * 0.21, 2)
    elif region == "IE":
        tax = round(price_after_promos * 0.23, 2)
    else:
        tax = 0

    total = subtotal - discount + tax
    return {
        "subtotal": f"{subtotal:.2f}",
        "discount": f"{discount:.2f}",
        "tax": f"{tax:.2f}",
        "total": f"{total:.2f}",
        "currency": "EUR",
    }


# ---------------- orders ----------------


@app.post("/orders", status_code=201)
async def create_order(request: Request):
    data = await request.json()
    customer_id = data["customer_id"]
    region = data["region"]
    promo_codes = data.get("promo_codes", [])

    if len(data["items"]) == 0:
        return JSONResponse(status_code=400, content={"detail": "Order has no items"})

    # check the products exist and there is enough stock
    for item in data["items"]:
        if item["sku"] not in products:
            return JSONResponse(status_code=400, content={"detail": "Unknown product " + item["sku"]})
        product = products[item["sku"]]
        if product["stock"] < item["quantity"]:
            return JSONResponse(status_code=400, content={"detail": "Not enough stock for " + item["sku"]})

    items = []
    subtotal = 0.0
    for item in data["items"]:
        product = products[item["sku"]]
        line_total = product["price"] * item["quantity"]
        items.append(
            {
                "sku": item["sku"],
                "quantity": item["quantity"],
                "unit_price": product["price"],
                "line_total": line_total,
            }
        )
        subtotal = subtotal + line_total

    # promo codes
    price_after_promos = subtotal
    for code in promo_codes:
        if code == "WELCOME10":
            price_after_promos = price_after_promos - price_after_promos * 0.10
        elif code == "SPRING15":
            price_after_promos = price_after_promos - price_after_promos * 0.15
        elif code == "FIVEOFF":
            if subtotal >= 20:
                price_after_promos = price_after_promos - 5
        else:
            return JSONResponse(status_code=400, content={"detail": "Invalid promo code " + code})
    if price_after_promos < 0:
        price_after_promos = 0
    discount = subtotal - price_after_promos

    # tax
    if region == "DE":
        tax = round(price_after_promos * 0.19, 2)
    elif region == "FR":
        tax = round(price_after_promos * 0.20, 2)
    elif region == "NL":
        tax = round(price_after_promos * 0.21, 2)
    elif region == "IE":
        tax = round(price_after_promos * 0.23, 2)
    else:
        tax = 0

    total = subtotal - discount + tax

    order = {
        "id": str(uuid.uuid4()),
        "customer_id": customer_id,
        "region": region,
        "status": "pending",
        "items": items,
        "promo_codes": promo_codes,
        "subtotal": subtotal,
        "discount": discount,
        "tax": tax,
        "total": total,
        "created_at": datetime.now().isoformat(),
    }

    # take the payment
    async with httpx.AsyncClient(timeout=None) as client:
        response = await client.post(
            PAYMENTS_URL + "/charges",
            json={"amount": f"{total:.2f}", "currency": "EUR", "reference": order["id"]},
        )

    if response.status_code == 201 and response.json()["status"] == "succeeded":
        order["status"] = "paid"
        order["charge_id"] = response.json()["id"]
        # payment ok, now take the items out of stock
        for item in items:
            products[item["sku"]]["stock"] = products[item["sku"]]["stock"] - item["quantity"]
        orders.append(order)
        return order_to_json(order)

    order["status"] = "payment_failed"
    orders.append(order)
    return JSONResponse(
        status_code=402,
        content={"error": {"code": "payment_declined", "message": "Payment failed", "order_id": order["id"]}},
    )


@app.get("/orders/{order_id}")
async def get_order(order_id: str):
    for order in orders:
        if order["id"] == order_id:
            return order_to_json(order)
    return JSONResponse(status_code=404, content={"detail": "Order not found"})


@app.get("/orders")
async def list_orders(customer_id: str, limit: int = 20, cursor: str = None):
    customer_orders = []
    for order in orders:
        o = order_to_json(order)
        if o["customer_id"] == customer_id:
            customer_orders.append(o)
    customer_orders.sort(key=lambda o: o["created_at"], reverse=True)
    return {"items": customer_orders[:limit], "next_cursor": None}
