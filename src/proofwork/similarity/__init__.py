"""Copied work: submissions that share code beyond what the starter gave everyone."""
