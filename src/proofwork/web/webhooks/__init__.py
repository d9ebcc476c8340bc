"""Webhook endpoints an organisation registers, and their deliveries (with redeliver)."""
