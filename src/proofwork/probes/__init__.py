"""Probes: one module per kind of measurement, all registered through the same Registry."""

from __future__ import annotations

from proofwork.probes.base import Budget, Probe, ProbeContext, Registry


def _static() -> Probe:
    from proofwork.probes.static import StaticProbe

    return StaticProbe()


def _security() -> Probe:
    from proofwork.probes.security import SecurityProbe

    return SecurityProbe()


def _tests() -> Probe:
    from proofwork.probes.tests import TestsProbe

    return TestsProbe()


def _mutation() -> Probe:
    from proofwork.probes.mutation import MutationProbe

    return MutationProbe()


def _acceptance() -> Probe:
    from proofwork.probes.acceptance import AcceptanceProbe

    return AcceptanceProbe()


def _faults() -> Probe:
    from proofwork.probes.faults import FaultsProbe

    return FaultsProbe()


def _durability() -> Probe:
    from proofwork.probes.bykind import ByKind
    from proofwork.probes.durability import DurabilityProbe
    from proofwork.probes.job_durability import JobDurabilityProbe

    return ByKind(service=DurabilityProbe(), job=JobDurabilityProbe())


def _operability() -> Probe:
    from proofwork.probes.bykind import ByKind
    from proofwork.probes.job_operability import JobOperabilityProbe
    from proofwork.probes.operability import OperabilityProbe

    return ByKind(service=OperabilityProbe(), job=JobOperabilityProbe())


def _input() -> Probe:
    from proofwork.probes.bykind import ByKind
    from proofwork.probes.input import InputProbe
    from proofwork.probes.job_input import JobInputProbe

    return ByKind(service=InputProbe(), job=JobInputProbe())


def _load() -> Probe:
    from proofwork.probes.load import LoadProbe

    return LoadProbe()


def _scale() -> Probe:
    from proofwork.probes.scale import ScaleProbe

    return ScaleProbe()


# Built-ins go through the same `register` call that third-party plugins use.
BUILTIN = {
    "static": _static,
    "security": _security,
    "tests": _tests,
    "mutation": _mutation,
    "acceptance": _acceptance,
    "faults": _faults,
    "durability": _durability,
    "operability": _operability,
    "input": _input,
    "load": _load,
    "scale": _scale,
}


def default_registry(*, plugins: bool = True) -> Registry:
    """The built-in probes, plus those installed packages declare (entry-point group)."""
    registry = Registry()
    for name, factory in BUILTIN.items():
        registry.register(name, factory)
    if plugins:
        registry.load_entry_points()
    return registry


__all__ = ["Budget", "Probe", "ProbeContext", "Registry", "default_registry"]
