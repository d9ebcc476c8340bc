"""A small orders service for the harness's own tests: standard library only, run in the real
sandbox. It speaks enough of the orders-api contract for the pack's check helpers.

FLAWS (comma-separated, from the environment) each turn on one bad habit, so a test can show
the harness notices it; with none, it behaves as the pack asks:
  no_timeout        waits for the payment provider forever
  crash_on_error    answers 500 when the provider fails
  declines_on_error answers 402 payment_declined when the provider fails (as the starter does)
  stuck_after_error once the provider failed, refuses every order (503) from then on
  no_idempotency    ignores the customer's Idempotency-Key (a retry is a new order and charge)
  memory            keeps everything in memory (lost on kill -9)
  oversell          checks stock, charges, and only then takes it (a race oversells)
  split_steps       takes the stock, charges, and only then records the order, each step
                    journalled on its own (kill -9 between them: stock gone with no order, a
                    customer charged for an order the shop does not know)
  no_healthz        has no /healthz (404)
  blind_health      /healthz says 200 whatever happens to its storage
  plain_logs        logs free text without a request id
  abrupt_exit       exits at once on SIGTERM, dropping requests in flight
  ignores_sigterm   ignores SIGTERM
  fixed_port        listens on 8000 whatever PORT says
  fixed_data_dir    keeps its data in /tmp/shop whatever DATA_DIR says
  fixed_payments    charges http://127.0.0.1:9100 whatever PAYMENTS_URL says
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLAWS = set(filter(None, os.environ.get("FLAWS", "").split(",")))
PORT = 8000 if "fixed_port" in FLAWS else int(os.environ["PORT"])
DATA_DIR = "/tmp/shop" if "fixed_data_dir" in FLAWS else os.environ["DATA_DIR"]
PAYMENTS_URL = "http://127.0.0.1:9100" if "fixed_payments" in FLAWS else os.environ["PAYMENTS_URL"]
PAY_TIMEOUT_S = None if "no_timeout" in FLAWS else float(os.environ.get("PAY_TIMEOUT_S", "1"))
JOURNAL = os.path.join(DATA_DIR, "journal.jsonl")
CENT = Decimal("0.01")


class Refused(Exception):
    """An answer other than success: status, error code."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status, self.code = status, code


class Store:
    """Products, orders and keys in memory, journalled (fsync'd) to DATA_DIR unless `memory`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.products: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, list[str]] = {}
        self.broken = False
        os.makedirs(DATA_DIR, exist_ok=True)
        if "memory" not in FLAWS and os.path.exists(JOURNAL):
            with open(JOURNAL) as journal:
                for line in journal:
                    self.apply(json.loads(line))

    def apply(self, entry: dict[str, Any]) -> None:
        kind, value = entry["kind"], entry["value"]
        table = {"product": self.products, "order": self.orders}.get(kind)
        if table is not None:
            table[value["sku" if kind == "product" else "id"]] = value
        else:
            self.keys[value[0]] = value[1:]

    def save(self, kind: str, value: Any) -> None:
        self.save_all([(kind, value)])

    def save_all(self, changes: list[tuple[str, Any]]) -> None:
        """Apply and journal the changes together: one write, so a kill keeps all or none."""
        entries = [{"kind": kind, "value": value} for kind, value in changes]
        for entry in entries:
            self.apply(entry)
        if "memory" in FLAWS:
            return
        with open(JOURNAL, "a") as journal:
            journal.write("".join(json.dumps(entry) + "\n" for entry in entries))
            journal.flush()
            os.fsync(journal.fileno())


STORE = Store()


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def add_product(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with STORE.lock:
        if body["sku"] in STORE.products:
            raise Refused(409, "duplicate_sku")
        product = {k: body[k] for k in ("sku", "name", "price", "stock")}
        STORE.save("product", product)
    return 201, product


def place(body: dict[str, Any], key: str | None) -> tuple[int, dict[str, Any]]:
    if STORE.broken:
        raise Refused(503, "payment_unavailable")
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    with STORE.lock:
        if key and "no_idempotency" not in FLAWS and key in STORE.keys:
            earlier, order_id = STORE.keys[key]
            if earlier != digest:
                raise Refused(409, "idempotency_conflict")
            return 200, STORE.orders[order_id]
        order = new_order(body)
        if key:
            STORE.save("key", [key, digest, order["id"]])
    return settle(order, charge(order))


def new_order(body: dict[str, Any]) -> dict[str, Any]:
    (line,) = body["items"]
    product = STORE.products.get(line["sku"])
    if product is None:
        raise Refused(422, "unknown_sku")
    if product["stock"] < line["quantity"]:
        raise Refused(409, "out_of_stock")
    subtotal = Decimal(product["price"]) * line["quantity"]
    total = subtotal + (subtotal * Decimal("0.19")).quantize(CENT, rounding=ROUND_HALF_UP)
    order = {
        "id": "ord-" + uuid.uuid4().hex[:12],
        "customer_id": body["customer_id"],
        "region": body["region"],
        "status": "payment_pending",
        "items": [dict(line, unit_price=product["price"])],
        "total": money(total),
        "currency": "EUR",
    }
    if "oversell" in FLAWS:
        STORE.save("order", order)
    elif "split_steps" in FLAWS:
        STORE.save("product", taken(line["sku"], line["quantity"]))
    else:
        STORE.save_all([("product", taken(line["sku"], line["quantity"])), ("order", order)])
    return order


def taken(sku: str, quantity: int) -> dict[str, Any]:
    """The product with `quantity` fewer in stock."""
    product = dict(STORE.products[sku])
    product["stock"] -= quantity
    return product


def charge(order: dict[str, Any]) -> str:
    """succeeded | declined | unknown (no trustworthy answer)."""
    body = {"amount": order["total"], "currency": "EUR", "reference": order["id"]}
    # S310: PAYMENTS_URL is the harness's own fake provider, always http on loopback.
    request = urllib.request.Request(  # noqa: S310
        PAYMENTS_URL + "/charges",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "order-" + order["id"]},
    )
    try:
        with urllib.request.urlopen(request, timeout=PAY_TIMEOUT_S) as response:  # noqa: S310
            return "succeeded" if response.status == 201 else "unknown"
    except urllib.error.HTTPError as exc:
        return "declined" if exc.code == 402 else "unknown"
    except OSError:
        return "unknown"


def settle(order: dict[str, Any], outcome: str) -> tuple[int, dict[str, Any]]:
    if outcome == "unknown" and "crash_on_error" in FLAWS:
        raise RuntimeError("the payment provider failed")
    if outcome == "unknown" and "declines_on_error" in FLAWS:
        outcome = "declined"
    if outcome == "unknown" and "stuck_after_error" in FLAWS:
        STORE.broken = True
    with STORE.lock:
        (line,) = order["items"]
        if outcome == "succeeded" and "oversell" in FLAWS:
            STORE.save("product", taken(line["sku"], line["quantity"]))
        status = {"succeeded": "paid", "declined": "payment_failed"}.get(outcome)
        if status is not None or "split_steps" in FLAWS:
            order = dict(order, status=status or order["status"])
            STORE.save("order", order)
    if outcome == "declined":
        raise Refused(402, "payment_declined")
    return (201 if outcome == "succeeded" else 202), order


def customer_orders(target: str) -> list[dict[str, Any]]:
    """The orders of `?customer_id=`, newest first (the fake's customers have a few at most)."""
    wanted = urllib.parse.parse_qs(urllib.parse.urlsplit(target).query).get("customer_id", [""])
    with STORE.lock:
        orders = [o for o in STORE.orders.values() if o["customer_id"] == wanted[0]]
    return orders[::-1]


def healthy() -> int:
    if "no_healthz" in FLAWS:
        return 404
    if "blind_health" in FLAWS:
        return 200
    try:
        probe = os.path.join(DATA_DIR, ".healthz")
        with open(probe, "w") as handle:
            handle.write("ok")
        os.remove(probe)
    except OSError:
        return 503
    return 200


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/healthz":
            status = healthy()
            self.answer(status, {"status": "ok" if status == 200 else "unavailable"})
        elif path.startswith("/products/") and path[10:] in STORE.products:
            self.answer(200, STORE.products[path[10:]])
        elif path.startswith("/orders/") and path[8:] in STORE.orders:
            self.answer(200, STORE.orders[path[8:]])
        elif path == "/orders":
            self.answer(200, {"items": customer_orders(self.path), "next_cursor": None})
        else:
            self.answer(404, {"error": {"code": "not_found", "message": "no such thing"}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        try:
            if self.path == "/products":
                self.answer(*add_product(body))
            else:
                self.answer(*place(body, self.headers.get("Idempotency-Key")))
        except Refused as refused:
            self.answer(refused.status, {"error": {"code": refused.code, "message": "refused"}})
        except Exception as exc:  # noqa: BLE001 - a crash is a 500, as frameworks do
            self.answer(500, {"detail": f"{type(exc).__name__}: {exc}"})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        rid = self.headers.get("X-Request-ID") or uuid.uuid4().hex
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if "plain_logs" in FLAWS:
            print(f"{self.command} {self.path} {status}", flush=True)
        else:
            line = {"level": "info", "request_id": rid, "path": self.path, "status": status}
            print(json.dumps(line), flush=True)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `answer` logs each request once."""


class Server(ThreadingHTTPServer):
    daemon_threads = False  # so a graceful stop waits for requests in flight
    request_queue_size = 128


def main() -> None:
    server = Server(("127.0.0.1", PORT), Handler)
    if "ignores_sigterm" in FLAWS:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    elif "abrupt_exit" in FLAWS:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    else:
        stop = threading.Thread(target=server.shutdown)
        signal.signal(signal.SIGTERM, lambda *_: stop.start())
    server.serve_forever(0.05)
    server.server_close()  # joins the request threads still answering
    sys.exit(0)


if __name__ == "__main__":
    main()
