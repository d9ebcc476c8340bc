"""The canary: two tests the grader adds to each run of the candidate's suite, under names
nobody can know in advance. One must be reported failed and the other passed; a run that says
otherwise rewrote its own results (see `proofwork_ledger`, which places them)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass


def _word() -> str:
    return "test_" + secrets.token_hex(6)


@dataclass(frozen=True)
class Canary:
    module: str
    failing: str
    passing: str

    @classmethod
    def new(cls) -> Canary:
        """Fresh, unguessable names (ordinary-looking test names, so no rule can spot them)."""
        return cls(secrets.token_hex(6), _word(), _word())

    @property
    def env(self) -> str:
        """The value of PROOFWORK_CANARY for the in-sandbox witness."""
        return f"{self.module},{self.failing},{self.passing}"

    def names(self, nodeid_or_name: str) -> str | None:
        """ "failing" or "passing" when this node id or JUnit name is one of the canaries."""
        if self.module not in nodeid_or_name and "::" in nodeid_or_name:
            return None
        tail = nodeid_or_name.rsplit("::", 1)[-1]
        if tail == self.failing:
            return "failing"
        if tail == self.passing:
            return "passing"
        return None
