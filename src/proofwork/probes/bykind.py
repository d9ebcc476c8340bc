"""One probe name measured one way for a service and another for a batch job (`durability`
kills a service between requests, a job in the middle of its run), registered as one probe."""

from __future__ import annotations

from proofwork.evidence import Evidence
from proofwork.probes.base import Probe, ProbeContext


class ByKind:
    """Hands each run to the probe for the challenge's kind (a generic run counts as a service)."""

    def __init__(self, **by_kind: Probe) -> None:
        first = next(iter(by_kind.values()))
        # The later stage of the two: a measure reading other probes' evidence runs after them.
        self.name, self.stage = first.name, max(p.stage for p in by_kind.values())
        self.kinds = tuple(by_kind)
        self._by_kind = by_kind

    def _probe(self, ctx: ProbeContext) -> Probe | None:
        kind = getattr(getattr(ctx.challenge, "spec", None), "kind", "service")
        return self._by_kind.get(kind)

    def applies(self, ctx: ProbeContext) -> bool:
        """Whether the probe for this kind has anything to measure."""
        probe = self._probe(ctx)
        return probe is not None and probe.applies(ctx)

    def run(self, ctx: ProbeContext) -> Evidence:
        """Measure with the probe for this kind."""
        probe = self._probe(ctx)
        if probe is None:
            raise ValueError(f"{self.name} has no measure for this kind of challenge")
        return probe.run(ctx)
