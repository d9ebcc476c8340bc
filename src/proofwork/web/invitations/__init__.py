"""Invitations: a candidate's expiring access to an assessment, through a token shown once."""
