"""Hiring: the dashboard, pipeline, invitations by the batch and the comparison of candidates."""
