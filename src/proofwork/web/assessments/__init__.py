"""Assessments: an organisation's use of one pack (or a generic grade) for a hiring round."""
