"""Background completion of payments that Paystream did not answer in time (the open question)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from app import orders
from app.checkout import Checkout

log = logging.getLogger("app.worker")

BATCH_SIZE = 20


class PaymentRetrier:
    """Charges pending orders again, with the same Idempotency-Key, until Paystream answers."""

    def __init__(self, checkout: Checkout, *, clock: Callable[[], float] = time.time) -> None:
        self._checkout = checkout
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Make one attempt for every order that is due; return how many were attempted."""
        settings = self._checkout.settings
        due = orders.claim_due(
            self._checkout.db, now=self._clock(), lease_s=settings.payment_budget_s + 5.0, limit=BATCH_SIZE
        )
        for order in due:
            if self._stop.is_set():
                break
            self._attempt(order)
        return len(due)

    def start(self) -> None:
        """Run in a daemon thread until `stop` is called."""
        self._thread = threading.Thread(target=self._loop, name="payment-retrier", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float) -> None:
        """Ask the loop to finish its current attempt and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                attempted = self.run_once()
            except Exception:
                log.exception("payment retry round failed")
                attempted = 0
            if attempted < BATCH_SIZE:
                self._stop.wait(self._checkout.settings.retry_poll_s)

    def _attempt(self, order: orders.Order) -> None:
        checkout = self._checkout
        result = checkout.payments.charge(order.id, order.total, budget_s=checkout.settings.payment_budget_s)
        status = orders.settle(checkout.db, order, result, retry_delay_s=checkout.retry_delay_s, clock=self._clock)
        extra = {"order_id": order.id, "status": status.value, "outcome": result.outcome.value}
        log.info("pending payment retried", extra=extra)
        if status is orders.Status.PAYMENT_PENDING and self._age_s(order) > checkout.settings.pending_alert_s:
            log.error("payment still pending; check Paystream and reconcile by hand", extra=extra)

    def _age_s(self, order: orders.Order) -> float:
        created = datetime.fromisoformat(order.created_at.replace("Z", "+00:00"))
        return self._clock() - created.timestamp()
