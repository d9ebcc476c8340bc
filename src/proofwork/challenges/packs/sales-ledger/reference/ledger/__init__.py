"""Fernbrook's nightly sales ledger: channel exports in, revenue, payouts and rejects out."""
