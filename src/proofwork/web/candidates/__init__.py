"""Candidates: people invited to assessments; reviewers see only their alias (blind review)."""
