"""Integrity of a run: a candidate's code must not be able to forge its own results.

Evidence about the candidate's tests comes from inside the candidate's own test process, so it
is cross-checked against what the grader adds and observes (`canary`, `witness`) and against a
static look at the code that can reach into a test run (`scan`). Tampering found anywhere is a
`integrity.tampering` finding; the report puts it first and marks the figures it taints as
untrusted (`verdict`).
"""
