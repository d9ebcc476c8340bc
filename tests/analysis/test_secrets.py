"""Committed secrets: found by shape or by name and randomness, and never echoed in full."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from proofwork.analysis.secrets import entropy, redact, scan_text, scan_tree

# Token-shaped values are assembled at run time so this file does not itself hold one.
AWS_KEY = "AKIA" + "Z3MSJV4WWNKQ7RB2"
GITHUB_TOKEN = "ghp" + "_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC2dF4gH6"
SLACK_TOKEN = "xox" + "b-2048193377-4822811399-Gq8ZtLmXv0pRsT"
STRIPE_KEY = "sk" + "_live_4eC39HqLyjWDarjtT1zdp7dc"
PEM_HEADER = "-----BEGIN " + "RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("line", "kind", "secret"),
    [
        (f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"', "AWS access key id", AWS_KEY),
        (PEM_HEADER, "private key", PEM_HEADER),
        (f"token: {GITHUB_TOKEN}", "GitHub token", GITHUB_TOKEN),
        (f"SLACK = '{SLACK_TOKEN}'", "Slack token", SLACK_TOKEN),
        (f"stripe.api_key = '{STRIPE_KEY}'", "Stripe live key", STRIPE_KEY),
    ],
)
def test_tokens_are_found_by_shape_and_redacted(line: str, kind: str, secret: str) -> None:
    (hit,) = scan_text(f"x = 1\n{line}\n", "app/config.py")
    assert (hit.kind, hit.line, hit.path, hit.shaped) == (kind, 2, "app/config.py", True)
    assert hit.redacted == secret[:4] + "…"
    assert secret not in hit.redacted


@pytest.mark.parametrize(
    "line",
    [
        'db_password = "Tr0ub4dor&3xyz"',
        'settings = {"client_secret": "a9f8e7d6c5b4a3"}',
        'api_key: str = "q8Zr2LmX0pVt7Ks1"',
        'connect(password="Tr0ub4dor&3xyz")',
        'signing_key = "Zx81KqLm02PpRt77AbCdEf9"',
        'session_salt = "9f86d081884c7d659a2feaa0c55ad015"',
    ],
)
def test_random_values_assigned_to_secret_names_are_found(line: str) -> None:
    (hit,) = scan_text(line, "app/settings.py")
    assert hit.kind.startswith("secret assigned to ")
    assert not hit.shaped


@pytest.mark.parametrize(
    "line",
    [
        'password = "hunter2hunter2"',  # too little entropy to be anything but a word
        'PASSWORD_ENV = "DB_PASSWORD"',  # the name of a variable, not its value
        'password = os.environ["DB_PASSWORD"]',
        'token_url = "https://auth.service.io/token"',
        'api_key = "your-api-key-here"',
        f'example = "{"AKIA" + "IOSFODNN7EXAMPLE"}"',
        'cache_key = "user_profile_cache_v2_entries"',  # a weak name needs a random value
        'author = "Jane Developer-Smithson"',
        'secret = "short"',
        "password = get_password()",
    ],
)
def test_ordinary_code_is_not_a_secret(line: str) -> None:
    assert scan_text(line, "app/settings.py") == []


def test_unquoted_values_count_in_config_files_but_not_in_python() -> None:
    env = "DEBUG=true\nDB_PASSWORD=s3cr3tP4ssw0rdValue\nSECRET_KEY=${SECRET}\n"
    (hit,) = scan_text(env, ".env")
    assert (hit.line, hit.redacted) == (2, "s3cr…")
    assert scan_text("DB_PASSWORD=s3cr3tP4ssw0rdValue\n", "settings.py") == []


def test_one_value_on_one_line_is_reported_once() -> None:
    assert len(scan_text(f'github_token = "{GITHUB_TOKEN}"', "a.py")) == 1


def test_scan_tree_reads_hidden_and_non_python_files_but_not_git_or_binaries(
    tmp_path: Path,
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text(f"token = {GITHUB_TOKEN}\n")
    (tmp_path / ".env").write_text(f"AWS_KEY={AWS_KEY}\n")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "values.yaml").write_text(f"stripe: {STRIPE_KEY}\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1" + AWS_KEY.encode())
    (tmp_path / "link.txt").symlink_to(tmp_path / ".env")
    scan = scan_tree(tmp_path)
    assert sorted((h.path, h.kind) for h in scan.hits) == [
        (".env", "AWS access key id"),
        ("deploy/values.yaml", "Stripe live key"),
    ]


def test_a_hostile_line_is_scanned_in_linear_time() -> None:
    text = "password=" * 200_000 + "\n" + "tokentoken" * 100_000
    started = time.perf_counter()
    scan_text(text, "bundle.js")
    assert time.perf_counter() - started < 3.0


def test_redact_and_entropy() -> None:
    assert redact("abcdefgh") == "abcd…"
    assert entropy("aaaa") == 0.0
    assert entropy("abcd") == 2.0
