"""The static probe end to end: ruff in a real sandbox, the rest in-process."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sandboxing import ContextFactory

from proofwork.evidence import Finding, Severity, Status
from proofwork.probes.static import StaticProbe
from proofwork.sandbox import Mount

COMPLEX = """
def route(order, user, stock):
    if order:
        for line in order:
            if line.qty > 0 and stock:
                for item in stock:
                    if item == line.sku or item.alias == line.sku:
                        if user.vip:
                            return 1
                        elif user.blocked:
                            return 2
                        else:
                            return 3
    return 0
"""

SHARED = "\n".join(f"    total = total + item.price_{i} * item.qty" for i in range(8))
COPY_A = f"def a(item, total):\n{SHARED}\n    return total\n"
COPY_B = f"def b(item: int, total: int) -> int:\n{SHARED}\n    return total\n"


def rules(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def test_it_measures_a_small_project(make_context: ContextFactory) -> None:
    ctx = make_context(
        {
            "app/orders.py": f"import os\n\n{COMPLEX}\n\n{COPY_A}",
            "app/billing.py": COPY_B,
            "app/broken.py": "def broken(:\n    pass\n",
            "tests/test_orders.py": "def test_route():\n    assert True\n",
        }
    )
    evidence = StaticProbe().run(ctx)
    assert evidence.status is Status.OK, evidence.error
    metrics = evidence.metrics
    assert metrics["static.source_files"] == 3
    assert metrics["static.test_loc"] == 2
    assert metrics["static.functions"] == 3
    assert metrics["static.unparsable_files"] == 1
    assert metrics["static.complexity_max"] == 10  # 1 + 5 ifs/elifs + 2 fors + and + or
    assert metrics["static.cognitive_max"] == 25  # 1+2+(3+1)+4+(5+1)+6+1+1
    assert metrics["static.functions_over_complexity_10"] == 0
    assert metrics["static.duplicated_lines"] == 18  # 8 shared lines + the `return`, twice
    assert metrics["static.annotation_percent"] == 30.0  # 3 of 10 slots, all in b()
    assert metrics["static.ruff_findings"] == 1
    assert metrics["static.ruff_per_kloc"] == round(1000 / (metrics["static.loc"] + 2), 2)
    (unused,) = [f for f in evidence.findings if f.rule == "ruff.F401"]
    assert (unused.path, unused.line, unused.severity) == ("app/orders.py", 1, Severity.LOW)
    (complex_function,) = [f for f in evidence.findings if f.rule == "static.complex_function"]
    assert complex_function.path == "app/orders.py"
    assert "route has cognitive complexity 25" in complex_function.message
    assert "static.duplicate" in rules(evidence.findings)
    # A file that does not parse is reported once (ruff's own syntax errors are dropped).
    (broken,) = [f for f in evidence.findings if f.rule == "static.unparsable"]
    assert (broken.path, broken.line, broken.severity) == ("app/broken.py", 1, Severity.HIGH)
    assert "ruff.invalid-syntax" not in rules(evidence.findings)
    assert "ruff.json" in evidence.artifacts


def test_the_candidates_own_config_and_noqa_do_not_hide_findings(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(
        {
            "pyproject.toml": '[tool.ruff]\nexclude = ["app"]\n[tool.ruff.lint]\nselect = []\n',
            "ruff.toml": "[lint]\nignore = ['F']\n",
            ".gitignore": "app/\n",
            "app/main.py": "import os  # noqa\nimport sys  # noqa: F401\n",
        }
    )
    evidence = StaticProbe().run(ctx)
    assert evidence.status is Status.OK, evidence.error
    assert rules(evidence.findings).count("ruff.F401") == 2


def test_garbage_from_ruff_is_an_error_that_keeps_the_other_metrics(
    make_context: ContextFactory, workdir: Path
) -> None:
    ctx = make_context({"app.py": "def ok():\n    return 1\n"})
    fake_tools = workdir / "fake-tools"
    fake_tools.mkdir()
    (fake_tools / "ruff").write_text('#!/bin/sh\nprintf \'[{"code": "F4\'\n')
    (fake_tools / "ruff").chmod(0o755)
    ctx.environment = dataclasses.replace(
        ctx.environment, tools_bin="/fake-tools", tool_mounts=(Mount(fake_tools, "/fake-tools"),)
    )
    evidence = StaticProbe().run(ctx)
    assert evidence.status is Status.ERROR
    assert evidence.error is not None and "not valid JSON" in evidence.error
    assert evidence.metrics["static.functions"] == 1
    assert "static.ruff_findings" not in evidence.metrics


def test_it_applies_only_when_there_is_python(make_context: ContextFactory) -> None:
    assert not StaticProbe().applies(make_context({"README.md": "# hi\n"}))
    assert StaticProbe().applies(make_context({"src/pkg/mod.py": ""}))
