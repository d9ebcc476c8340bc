"""`/i/{token}/repo.git`: the invitation's git remote over smart HTTP, through `git http-backend`.

The token in the URL authenticates, as on the portal's pages. Errors are plain text, which git
prints as `remote: …` lines. A push that moves a branch becomes the invitation's submission: the
branch goes through the same intake as an upload and its run is queued; git shows where to
follow it. A refused submission fails the push with the reason and leaves the remote as it was.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from proofwork.store.database import read_only
from proofwork.web.cgi import BodyTooLarge, CgiResponse, run_cgi, spool_body
from proofwork.web.deps import services as services_of
from proofwork.web.errors import ApiError
from proofwork.web.portal import git_remote
from proofwork.web.portal.service import (
    check_can_submit,
    open_portal,
    pack_of,
    receive_submission,
)
from proofwork.web.submissions.upload import Upload

router = APIRouter(include_in_schema=False)
UPLOAD, RECEIVE = "git-upload-pack", "git-receive-pack"
# A push carries pack data, a little more than the repository it adds.
REQUEST_SLACK = 1024 * 1024
HEAD_BYTES = 4096  # where a receive-pack request names its capabilities


def status_url(request: Request, token: str) -> str:
    """The absolute address of the invitation's status page."""
    return f"{request.base_url}i/{token}/status"


def _plain(status: int, message: str) -> PlainTextResponse:
    return PlainTextResponse(message.rstrip() + "\n", status_code=status)


def _service(path: str, request: Request) -> str | None:
    """Which git service the request is for, if it is one this remote serves."""
    if request.method == "GET" and path == "info/refs":
        wanted = request.query_params.get("service", "")
        return wanted if wanted in (UPLOAD, RECEIVE) else None
    if request.method == "POST" and path in (UPLOAD, RECEIVE):
        return path
    return None


def _open(request: Request, token: str, service: str) -> Path:
    """The invitation's repository, once its link and (for a push) its state allow it."""
    found = services_of(request)
    with read_only(found.factory) as session:
        portal = open_portal(session, token)
        if service == RECEIVE:
            check_can_submit(portal)
        pack = pack_of(portal.assessment, found.settings)
        invitation_id = portal.invitation.id
    return git_remote.ensure_repo(found.settings, invitation_id, pack)


def _cgi_env(request: Request, repo: Path, path: str) -> dict[str, str]:
    env = git_remote.git_env(repo)
    env.update(
        GIT_PROJECT_ROOT=str(repo.parent),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{repo.name}/{path}",
        REQUEST_METHOD=request.method,
        QUERY_STRING=request.url.query,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        REMOTE_ADDR=request.client.host if request.client else "",
        REMOTE_USER="candidate",
    )
    for header, variable in (
        ("content-length", "CONTENT_LENGTH"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
    ):
        if header in request.headers:
            env[variable] = request.headers[header]
    return env


@router.api_route("/i/{token}/repo.git/{path:path}", methods=["GET", "POST"])
async def git_remote_route(token: str, path: str, request: Request) -> Response:
    """Serve git's smart HTTP protocol for the invitation's repository."""
    service = _service(path, request)
    if service is None:
        return _plain(404, "only git's smart HTTP protocol is served here (clone, fetch, push)")
    try:
        repo = await run_in_threadpool(_open, request, token, service)
    except ApiError as exc:
        return _plain(exc.status, exc.message)
    limit = services_of(request).settings.max_bytes + REQUEST_SLACK
    receiving = service == RECEIVE and request.method == "POST"
    before = await run_in_threadpool(git_remote.branches, repo) if receiving else {}
    try:
        body = await spool_body(request.stream(), limit)
    except BodyTooLarge as exc:
        return _plain(413, str(exc))
    head = body.read(HEAD_BYTES)
    body.seek(0)
    cgi = await run_cgi(["git", "http-backend"], _cgi_env(request, repo, path), body)
    if receiving:
        return await _receive(request, token, repo, cgi, before, head)
    return StreamingResponse(cgi.chunks(), status_code=cgi.status, headers=dict(cgi.headers))


async def _receive(
    request: Request,
    token: str,
    repo: Path,
    cgi: CgiResponse,
    before: dict[str, str],
    head: bytes,
) -> Response:
    """Let receive-pack take the push, then turn the moved branch into a submission."""
    output = await cgi.read_all()
    after = await run_in_threadpool(git_remote.branches, repo)
    push = git_remote.pushed(before, after)
    headers = dict(cgi.headers)
    if push is None or cgi.status != 200:
        return Response(output, status_code=cgi.status, headers=headers)
    try:
        await run_in_threadpool(_submit, request, token, repo, push)
    except ApiError as exc:
        await run_in_threadpool(git_remote.restore, repo, before, after)
        message = f"Proofwork refused this push: {exc.message}"
        if not git_remote.wants_sideband(head):
            return _plain(exc.status, message)
        return Response(git_remote.sideband(3, message), headers=headers)
    note = (
        f"Proofwork received {push.branch} at {push.sha[:12]}: it is queued for grading.\n"
        f"Follow it at {status_url(request, token)}\n"
    )
    if git_remote.wants_sideband(head):
        output = git_remote.sideband(2, note) + output
    return Response(output, headers=headers)


def _submit(request: Request, token: str, repo: Path, push: git_remote.Push) -> None:
    with tempfile.TemporaryDirectory(prefix="pw-push-") as scratch:
        path = git_remote.bundle(repo, push, Path(scratch) / "push.bundle")
        with path.open("rb") as file:
            upload = Upload(
                file=file,
                filename=f"{push.branch.replace('/', '-')}.bundle",
                size=path.stat().st_size,
                seen_file=True,
            )
            receive_submission(
                services_of(request), token, upload, status_url=status_url(request, token)
            )
    # Kept now as the submission's blob; the invitation takes no further push.
    git_remote.discard(repo)
