"""Submissions: archives uploaded (streamed, capped, checked by the intake) and their runs."""
