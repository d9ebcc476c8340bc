"""Hidden acceptance checks for the orders-api pack (loaded by proofwork.harness.checks)."""
