"""The security probe end to end: bandit in a real sandbox, the secrets scan in-process."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from sandboxing import ContextFactory

from proofwork.analysis.secrets import SecretHit, SecretScan
from proofwork.evidence import Severity, Status
from proofwork.probes.security import SecurityProbe, secret_findings
from proofwork.sandbox import Mount

# Assembled at run time so this file does not itself hold a token-shaped value.
AWS_KEY = "AKIA" + "Z3MSJV4WWNKQ7RB2"

RISKY = """
import subprocess


def run(command):
    return subprocess.call(command, shell=True)  # nosec
"""


def test_it_reports_bandit_findings_and_secrets_without_repeating_them(
    make_context: ContextFactory,
) -> None:
    ctx = make_context(
        {
            "app/shell.py": RISKY,
            "app/config.py": f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n',
            ".env": "DB_PASSWORD=s3cr3tP4ssw0rdValue\n",
            "tests/test_shell.py": "def test_run():\n    assert True\n",
            # Judged by name only, in a test: most likely a fixture, so medium.
            "tests/test_login.py": 'PASSWORD = "Tr0ub4dor&3xyz"\n',
            # A candidate's .bandit cannot switch checks off, nor can `# nosec` above.
            ".bandit": "[bandit]\nskips = B602,B404\n",
        }
    )
    evidence = SecurityProbe().run(ctx)
    assert evidence.status is Status.OK, evidence.error
    by_rule = {f.rule: f for f in evidence.findings}
    shell = by_rule["bandit.B602"]
    assert (shell.path, shell.line, shell.severity) == ("app/shell.py", 6, Severity.HIGH)
    assert "confidence: high" in shell.message
    assert "bandit.B101" not in by_rule  # asserts in tests are how tests speak
    secrets = sorted((f.path, f.severity) for f in evidence.findings if f.rule == "security.secret")
    assert secrets == [
        (".env", Severity.HIGH),
        ("app/config.py", Severity.HIGH),
        ("tests/test_login.py", Severity.MEDIUM),
    ]
    everything = json.dumps([f.to_json() for f in evidence.findings]) + json.dumps(
        evidence.artifacts
    )
    assert AWS_KEY not in everything
    assert "s3cr3tP4ssw0rdValue" not in everything
    metrics = evidence.metrics
    assert metrics["security.secrets"] == 3
    assert metrics["security.high"] == 3  # B602 and the two secrets outside tests
    assert metrics["security.medium"] == 1
    assert metrics["security.low"] == 1  # B404: importing subprocess
    assert metrics["security.findings"] == 5


def test_a_failed_bandit_is_an_error_that_keeps_the_secrets(
    make_context: ContextFactory, workdir: Path
) -> None:
    ctx = make_context({"app.py": f'AWS = "{AWS_KEY}"\n'})
    fake_tools = workdir / "fake-tools"
    fake_tools.mkdir()
    (fake_tools / "bandit").write_text("#!/bin/sh\necho 'bandit: crashed' >&2\nexit 2\n")
    (fake_tools / "bandit").chmod(0o755)
    ctx.environment = dataclasses.replace(
        ctx.environment, tools_bin="/fake-tools", tool_mounts=(Mount(fake_tools, "/fake-tools"),)
    )
    evidence = SecurityProbe().run(ctx)
    assert evidence.status is Status.ERROR
    assert evidence.error is not None and "bandit: crashed" in evidence.error
    assert evidence.metrics == {"security.secrets": 1}
    assert [f.rule for f in evidence.findings] == ["security.secret"]


def test_it_applies_only_when_there_is_python(make_context: ContextFactory) -> None:
    assert not SecurityProbe().applies(make_context({".env": "A=1\n"}))
    assert SecurityProbe().applies(make_context({"main.py": ""}))


def test_a_token_shaped_secret_in_a_test_stays_high() -> None:
    scan = SecretScan(
        hits=[
            SecretHit("tests/test_aws.py", 3, "AWS access key id", "AKIA…", shaped=True),
            SecretHit(
                "tests/test_login.py", 1, "secret assigned to PASSWORD", "Tr0u…", shaped=False
            ),
        ],
        notes=["stopped after 64 MiB of text"],
    )
    found = [(f.rule, f.path, f.severity) for f in secret_findings(scan)]
    assert found == [
        ("security.secret", "tests/test_aws.py", Severity.HIGH),
        ("security.secret", "tests/test_login.py", Severity.MEDIUM),
        ("security.scan_limit", None, Severity.INFO),
    ]
