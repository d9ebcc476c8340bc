"""Auditing a team's repository: history, hotspots, knowledge, tests, monitoring, traffic.

The entry point is `proofwork.audit.run.audit`; this package imports nothing on its own, so the
history pass can be used without loading the engine.
"""
