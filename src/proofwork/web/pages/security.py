"""The pages' guards: the CSRF check on every unsafe request, and strict security headers.

Outside `/api/`, a POST (PUT, PATCH, DELETE) must carry the browser's token: the `X-CSRF-Token`
header (htmx sends it), or the form field `csrf_token` (urlencoded forms; in a multipart form
it must be the first field, so an upload is checked before it streams). A request whose body
is not of a kind a cross-site form can send (e.g. `application/x-git-receive-pack-request`)
needs a CORS preflight that is never granted, so it cannot be forged and is not checked.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proofwork.web.pages.session import (
    BROWSER_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    UNSAFE_METHODS,
    csrf_valid,
)
from proofwork.web.pages.templating import render_error

# Paths that are the API's or its documentation: their own rules, no page headers.
API_PATHS = ("/api/", "/docs", "/redoc", "/openapi.json")
FORM_LIMIT = 1024 * 1024
MULTIPART_HEAD_LIMIT = 64 * 1024
SIMPLE_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Candidate links carry their token in the path: never send it to another site.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def is_page_path(path: str) -> bool:
    """Whether a path is the pages' (not the API's or its documentation)."""
    return not path.startswith(API_PATHS)


class PageGuard:
    """ASGI middleware: a per-browser cookie, the CSRF check and the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        new_browser = None
        if not request.cookies.get(BROWSER_COOKIE):
            new_browser = secrets.token_urlsafe(24)
            request.state.browser_id = new_browser
        secure = scope.get("scheme") == "https"
        send = _with_headers(send, new_browser, secure=secure)
        if request.method in UNSAFE_METHODS and _needs_check(request):
            sent, receive = await _sent_token(request, receive)
            if not csrf_valid(request, sent):
                await _forbidden(request)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _with_headers(send: Send, new_browser: str | None, *, secure: bool) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                if name not in headers:
                    headers[name] = value
            if new_browser:
                flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                headers.append("Set-Cookie", f"{BROWSER_COOKIE}={new_browser}{flags}")
        await send(message)

    return wrapped


def _needs_check(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return not kind or kind in SIMPLE_TYPES or CSRF_HEADER in request.headers


async def _sent_token(request: Request, receive: Receive) -> tuple[str | None, Receive]:
    """The token the request carries, and a receive that replays what was read to find it."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header, receive
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        body, replay = await _read(receive, FORM_LIMIT, until=None)
        values = parse_qs(body.decode("latin-1")).get(CSRF_FIELD)
        return (values[0] if values else None), replay
    if kind == "multipart/form-data":
        boundary = _boundary(request.headers.get("content-type", ""))
        if boundary is None:
            return None, receive
        marker = b"--" + boundary
        body, replay = await _read(receive, MULTIPART_HEAD_LIMIT, until=marker)
        return _first_part_token(body, marker), replay
    return None, receive


async def _read(receive: Receive, limit: int, until: bytes | None) -> tuple[bytes, Receive]:
    """Reads the body (up to `limit`, or until `until` appears twice) and a replaying receive."""
    messages: list[Message] = []
    body = b""
    while len(body) < limit:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
        if until is not None and body.count(until) >= 2:
            break

    async def replay() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return body, replay


def _boundary(content_type: str) -> bytes | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    return match.group(1).encode("latin-1") if match else None


def _first_part_token(body: bytes, marker: bytes) -> str | None:
    parts = body.split(marker)
    if len(parts) < 3:
        return None
    head, _, value = parts[1].partition(b"\r\n\r\n")
    if f'name="{CSRF_FIELD}"'.encode() not in head:
        return None
    return value.rstrip(b"\r\n").decode("latin-1")


def _forbidden(request: Request) -> Response:
    return render_error(
        request,
        403,
        "This form could not be accepted: it was not sent from this site's own page, or the "
        "page was open for too long.",
        "Go back, reload the page and send the form again.",
    )
