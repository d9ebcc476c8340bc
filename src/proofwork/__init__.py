"""Proofwork: grade a Python work sample by running it like production does."""

__version__ = "0.1.0"
