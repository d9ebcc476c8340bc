"""Webhooks: an outbox in the store, delivered by the workers with Standard Webhooks signing."""
