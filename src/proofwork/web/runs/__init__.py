"""Runs: one evaluation of one submission, with progress, events, cancel, re-run and report."""
