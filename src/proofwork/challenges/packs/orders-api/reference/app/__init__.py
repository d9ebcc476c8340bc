"""Fernbrook orders service."""
