"""The web service: JSON API under /api/v1 (FastAPI); pages build on the same services."""
