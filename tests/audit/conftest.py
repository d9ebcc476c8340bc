"""Fixtures for the audit's tests: repositories with histories made to order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gitrepo import GitRepo

from proofwork.config import Settings, load_settings


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], GitRepo]:
    """Makes empty repositories under the test's folder."""

    def make(name: str = "repo") -> GitRepo:
        return GitRepo(tmp_path / name)

    return make


@pytest.fixture
def audit_settings(tmp_path: Path) -> Settings:
    """Settings whose state (history cache, audit copies) lives in the test's folder."""
    return load_settings(home=tmp_path / "home")
