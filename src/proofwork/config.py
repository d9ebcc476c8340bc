"""One typed settings object, read from PROOFWORK_* variables; a bad value fails at start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from proofwork.sandbox.base import Limits, MiB


def _default_home() -> Path:
    # The sandbox runs as an unprivileged uid that must read the runtime environments, so a
    # root grader keeps them outside /root (which is private on Debian).
    if os.geteuid() == 0:
        return Path("/var/lib/proofwork")
    return Path.home() / ".local" / "share" / "proofwork"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROOFWORK_", extra="forbid")

    home: Path = Field(default_factory=_default_home, description="State: runtimes, caches, runs.")
    sandbox: Literal["bwrap", "none"] = Field("bwrap", description="Isolation backend.")
    sandbox_uid: int = Field(
        61000, ge=1000, le=2**31, description="First uid for sandboxed code when run as root."
    )
    runtime_python: Path = Field(
        Path("/usr/bin/python3.11"),
        description="Interpreter for submission code (must live in a world-readable place).",
    )
    challenges_path: str = Field(
        "", description="Extra folders of challenge packs, separated like PATH."
    )
    index_url: str | None = Field(None, description="Package index for the install phase.")
    install: bool = Field(True, description="Install a generic submission's declared dependencies.")
    budget_s: float = Field(600.0, gt=0, description="Default total time budget of one run.")
    test_timeout_s: float | None = Field(
        None, gt=0, description="Per-test time limit (default: the pack's, else 30 s)."
    )
    collect_timeout_s: float = Field(
        30.0, gt=0, description="Time limit for importing one test module."
    )
    memory_mb: int = Field(2048, ge=64, description="Memory limit of sandboxed code.")
    pids: int = Field(256, ge=8, description="Process/thread limit of sandboxed code.")
    cpus: float = Field(1.0, gt=0, description="CPU limit (cores) of sandboxed code.")
    # Intake caps.
    max_bytes: int = Field(512 * MiB, gt=0, description="Largest unpacked submission.")
    max_files: int = Field(20_000, gt=0, description="Most files in a submission.")
    max_file_bytes: int = Field(64 * MiB, gt=0, description="Largest single file.")
    max_depth: int = Field(32, gt=0, description="Deepest path in a submission.")
    # The service.
    database_url: str = Field(
        "", description="Store URL (postgresql+psycopg://...); empty: SQLite under home."
    )
    blobs: Literal["auto", "folder", "database"] = Field(
        "auto", description="Where submissions and reports go; auto: folder on SQLite, else rows."
    )
    broker_url: str = Field(
        "", description="Redis URL of the Celery broker (scale-out); empty: embedded workers."
    )
    webhooks_allow_private: bool = Field(
        False, description="Deliver webhooks to private, loopback and link-local addresses."
    )
    api_processes: int = Field(
        1, ge=1, le=64, description="Processes `proofwork serve` answers API requests with."
    )
    worker_cores: int = Field(0, ge=0, description="Cores a worker grades on; 0: all of them.")
    heartbeat_s: float = Field(5.0, gt=0, description="How often a running run heartbeats.")
    stale_after_s: float = Field(
        30.0, gt=0, description="A running run silent this long is claimed again."
    )
    max_attempts: int = Field(3, ge=1, description="Claims of one run before it fails.")
    # The pages.
    public_url: str = Field(
        "",
        description="The address people reach the pages at, for links in mails "
        "(empty: the address of the request that sent the mail).",
    )
    session_hours: float = Field(12.0, gt=0, description="How long a sign-in lasts.")
    sign_in_failures: int = Field(
        5, ge=1, description="Failed sign-ins for one e-mail before it waits (per 15 minutes)."
    )
    sign_in_address_failures: int = Field(
        20, ge=1, description="Failed sign-ins from one client address before it waits."
    )
    team_invite_hours: int = Field(
        72, ge=1, description="How long a teammate's invitation link stays valid."
    )
    reminder_hours: float = Field(
        24.0, gt=0, description="Remind a candidate this long before their invitation expires."
    )
    smtp_host: str = Field("", description="SMTP server for mail; empty: mail goes to the outbox.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_user: str = Field("", description="SMTP user name (empty: no login).")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_from: str = Field("proofwork@localhost", description="Sender address of mails.")
    smtp_starttls: bool = Field(True, description="Use STARTTLS when the server offers it.")

    def limits(self) -> Limits:
        """The default sandbox limits these settings describe."""
        return Limits(memory_bytes=self.memory_mb * MiB, pids=self.pids, cpus=self.cpus)

    @property
    def runtimes_dir(self) -> Path:
        return self.home / "runtimes"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def deps_cache_dir(self) -> Path:
        return self.home / "deps"

    @property
    def store_url(self) -> str:
        """The store's SQLAlchemy URL: PROOFWORK_DATABASE_URL, else SQLite under home."""
        return self.database_url or f"sqlite:///{self.home / 'proofwork.db'}"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"


class ConfigError(Exception):
    """A PROOFWORK_* setting has a bad value."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and overrides); raises ConfigError naming the bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"PROOFWORK_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"bad setting: {problems}") from exc
