"""The mutation engine: plant small bugs in source, judge them with the project's own tests.

`mutants.generate` plants (operators, equivalence and duplicate filtering), `sampling` orders
and bounds the work, `coverage_map` picks each mutant's tests, `score` turns results into a
score with its interval. The in-sandbox half is `proofwork_mutate` in the base runtime.
"""

from __future__ import annotations

from proofwork.mutation.model import Generated, Kind, Mutant, Outcome, Result, Scope
from proofwork.mutation.mutants import generate
from proofwork.mutation.operators import FAMILIES, Profile

__all__ = [
    "FAMILIES",
    "Generated",
    "Kind",
    "Mutant",
    "Outcome",
    "Profile",
    "Result",
    "Scope",
    "generate",
]
