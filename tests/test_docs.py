"""The README documents every setting and every CLI option; this fails when one is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.core
import typer.main

from proofwork.cli import app
from proofwork.config import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    lines = [ln for ln in README.splitlines() if ln.strip() and not ln.startswith("```")]
    assert lines[0].startswith("make demo")
    assert lines[1].startswith("make test")


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    assert f"`PROOFWORK_{field.upper()}`" in README


def _options() -> list[str]:
    command = typer.main.get_command(app)
    assert isinstance(command, typer.core.TyperGroup)
    names = []
    for sub in command.commands.values():
        for param in sub.params:
            if isinstance(param, typer.core.TyperOption):
                names += [n for n in param.opts if n.startswith("--")]
    return sorted(set(names))


@pytest.mark.parametrize("option", _options())
def test_every_cli_option_is_documented(option: str) -> None:
    assert f"`{option}" in README
