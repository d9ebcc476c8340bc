"""Pushing a submission with the `git` command line to an invitation's remote on a live server."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pages_support import LiveServer
from portal_support import Invited, invite
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from proofwork.store.database import unit_of_work
from proofwork.store.models import (
    Invitation,
    InvitationState,
    Run,
    RunState,
    Submission,
)
from proofwork.web import admin
from proofwork.web.app import Services
from proofwork.web.auth import INVITATION_PREFIX, new_secret

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(
    live_server_factory: Callable[..., LiveServer], tmp_path_factory: pytest.TempPathFactory
) -> LiveServer:
    """A server without workers (the run stays queued), its git remotes in a folder of its own."""
    return live_server_factory(worker_cores=0, home=tmp_path_factory.mktemp("home"))


@pytest.fixture
def base_url(server: LiveServer) -> str:
    return server.url


@pytest.fixture
def store_factory(server: LiveServer) -> sessionmaker[Session]:
    return server.services.factory


@pytest.fixture
def live_services(server: LiveServer) -> Services:
    return server.services


def _invite(
    server: LiveServer, pack: str | None, *, expires_in: dt.timedelta, state: InvitationState
) -> Invited:
    """An invitation in an organisation of its own."""
    with unit_of_work(server.services.factory) as session:
        org_id = admin.create_org(session=session, name=f"Acme {new_secret('')[:8]}").id
    return invite(server, org_id, pack=pack, expires_in=expires_in, state=state)


def _git(*argv: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Grace",
        "GIT_AUTHOR_EMAIL": "g@example.org",
        "GIT_COMMITTER_NAME": "Grace",
        "GIT_COMMITTER_EMAIL": "g@example.org",
    }
    done = subprocess.run(
        ["git", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def open_invitation(server: LiveServer) -> Invited:
    return _invite(
        server, "sales-ledger", expires_in=dt.timedelta(days=2), state=InvitationState.PENDING
    )


def test_a_pushed_branch_becomes_a_queued_run(
    base_url: str,
    store_factory: sessionmaker[Session],
    live_services: Services,
    server: LiveServer,
    open_invitation: Invited,
    tmp_path: Path,
) -> None:
    remote = f"{base_url}/i/{open_invitation.token}/repo.git"
    _git("clone", "--quiet", remote, "work", cwd=tmp_path)
    work = tmp_path / "work"
    assert (work / "selfcheck.py").is_file()  # the clone is the pack's starter
    (work / "DECISIONS.md").write_text("# Decisions\n\nKept the money in Decimal.\n")
    _git("add", "DECISIONS.md", cwd=work)
    _git("commit", "--quiet", "-m", "Explain the decisions", cwd=work)
    head = _git("rev-parse", "HEAD", cwd=work).stdout.strip()

    pushed = _git("push", "origin", "HEAD:refs/heads/solution", cwd=work)

    assert "queued for grading" in pushed.stderr
    assert f"/i/{open_invitation.token}/status" in pushed.stderr
    with store_factory() as session:
        submission = session.scalars(
            select(Submission).where(Submission.invitation_id == open_invitation.invitation_id)
        ).one()
        run = session.scalars(select(Run).where(Run.submission_id == submission.id)).one()
        invitation = session.get_one(Invitation, open_invitation.invitation_id)
        assert run.state == RunState.QUEUED
        assert run.challenge == "sales-ledger"
        assert invitation.state == InvitationState.SUBMITTED
        assert submission.filename == "solution.bundle"
        stored = tmp_path / "stored.bundle"
        stored.write_bytes(live_services.blobs.read(session, submission.sha256))
    heads = _git("bundle", "list-heads", str(stored), cwd=tmp_path).stdout
    status = httpx.get(f"{base_url}/i/{open_invitation.token}/status", timeout=30)
    assert "Waiting for a grader: 0 submissions ahead of yours." in status.text
    assert not (
        server.services.settings.home / "git" / f"{open_invitation.invitation_id}.git"
    ).exists()
    assert f"{head} refs/heads/solution" in heads

    again = _git("push", "origin", "HEAD:refs/heads/second", cwd=work, check=False)
    assert again.returncode != 0
    assert "already received" in again.stderr


def test_a_wrong_token_is_refused(base_url: str, tmp_path: Path) -> None:
    wrong = new_secret(INVITATION_PREFIX)
    done = _git("ls-remote", f"{base_url}/i/{wrong}/repo.git", cwd=tmp_path, check=False)
    assert done.returncode != 0
    assert "not known" in done.stderr


def test_an_expired_or_revoked_invitation_is_refused(
    base_url: str, server: LiveServer, tmp_path: Path
) -> None:
    expired = _invite(
        server, None, expires_in=-dt.timedelta(hours=1), state=InvitationState.PENDING
    )
    revoked = _invite(server, None, expires_in=dt.timedelta(days=1), state=InvitationState.REVOKED)
    for invited, words in ((expired, "expired"), (revoked, "withdrew")):
        done = _git(
            "ls-remote", f"{base_url}/i/{invited.token}/repo.git", cwd=tmp_path, check=False
        )
        assert done.returncode != 0
        assert words in done.stderr
        assert "410" in done.stderr


def test_a_push_the_intake_refuses_fails_and_leaves_the_remote_unchanged(
    base_url: str, store_factory: sessionmaker[Session], server: LiveServer, tmp_path: Path
) -> None:
    invited = _invite(server, None, expires_in=dt.timedelta(days=1), state=InvitationState.PENDING)
    remote = f"{base_url}/i/{invited.token}/repo.git"
    work = tmp_path / "work"
    _git("init", "--quiet", "--initial-branch=main", str(work), cwd=tmp_path)
    (work / "link").symlink_to("/etc/passwd")
    _git("add", "link", cwd=work)
    _git("commit", "--quiet", "-m", "A link out of the tree", cwd=work)

    done = _git("push", remote, "main", cwd=work, check=False)

    assert done.returncode != 0
    assert "Proofwork refused this push" in done.stderr
    assert _git("ls-remote", remote, cwd=tmp_path).stdout.strip() == ""
    with store_factory() as session:
        kept = select(Submission).where(Submission.invitation_id == invited.invitation_id)
        assert session.scalars(kept).all() == []
        assert session.get_one(Invitation, invited.invitation_id).state == InvitationState.PENDING
