"""Settings, read once from the environment; a bad value stops the service at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

Number = TypeVar("Number", int, float)


class ConfigError(ValueError):
    """An environment variable is missing or has a value we cannot use."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    payments_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # NORMAL (WAL): commits survive a killed process; FULL also survives power loss, at an fsync per commit.
    sqlite_synchronous: str = "NORMAL"
    # Time a request may spend charging before it answers 202 payment_pending.
    payment_budget_s: float = 3.0
    payment_attempt_timeout_s: float = 2.0
    payment_connect_timeout_s: float = 0.5
    payment_max_attempts: int = 3
    # Background retries of pending payments: first delay, doubling up to the cap.
    retry_base_s: float = 1.0
    retry_max_s: float = 30.0
    retry_poll_s: float = 0.5
    pending_alert_s: float = 900.0
    shutdown_grace_s: float = 5.0

    @property
    def database_path(self) -> Path:
        return self.data_dir / "orders.sqlite3"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        return cls(
            data_dir=Path(_required(env, "DATA_DIR")),
            payments_url=_required(env, "PAYMENTS_URL").rstrip("/"),
            host=env.get("HOST", "127.0.0.1"),
            port=_number(env, "PORT", 8000, int),
            log_level=_choice(env, "LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
            sqlite_synchronous=_choice(env, "SQLITE_SYNCHRONOUS", "NORMAL", {"NORMAL", "FULL"}),
            payment_budget_s=_number(env, "PAYMENT_BUDGET_S", 3.0, float),
            payment_attempt_timeout_s=_number(env, "PAYMENT_ATTEMPT_TIMEOUT_S", 2.0, float),
            payment_connect_timeout_s=_number(env, "PAYMENT_CONNECT_TIMEOUT_S", 0.5, float),
            payment_max_attempts=_number(env, "PAYMENT_MAX_ATTEMPTS", 3, int),
            retry_base_s=_number(env, "PAYMENT_RETRY_BASE_S", 1.0, float),
            retry_max_s=_number(env, "PAYMENT_RETRY_MAX_S", 30.0, float),
            retry_poll_s=_number(env, "PAYMENT_RETRY_POLL_S", 0.5, float),
            pending_alert_s=_number(env, "PAYMENT_PENDING_ALERT_S", 900.0, float),
            shutdown_grace_s=_number(env, "SHUTDOWN_GRACE_S", 5.0, float),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} must be set")
    return value


def _number(env: Mapping[str, str], name: str, default: Number, kind: type[Number]) -> Number:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: set[str]) -> str:
    value = env.get(name, default).strip().upper()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(sorted(allowed))}, got {env[name]!r}")
    return value
