"""Rendering pages: one Jinja2 environment, a base context every template gets, the nav.

Every page `{% extends "base.html" %}` and fills `title` and `content`; forms call
`{{ csrf_field() }}` (first in a multipart form, so the check does not wait for the upload).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from proofwork.web.auth import PERMISSIONS, Principal
from proofwork.web.pages.session import CSRF_FIELD, csrf_token, signed_in

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"

templates = Jinja2Templates(directory=TEMPLATES)


@dataclass(frozen=True)
class NavLink:
    """A link in the top navigation, shown to roles that have its permission."""

    label: str
    href: str
    permission: str
    order: int = 50


NAV: list[NavLink] = []


def add_nav(label: str, href: str, permission: str, order: int = 50) -> None:
    """Show a link in the navigation to members whose role has `permission`; lowest order first.

    The first link a member may see is also where `/` takes them after signing in."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    if all(link.href != href for link in NAV):
        NAV.append(NavLink(label, href, permission, order))
        NAV.sort(key=lambda link: (link.order, link.label))


def nav_for(principal: Principal | None) -> list[NavLink]:
    """The links this member may follow."""
    if principal is None:
        return []
    return [link for link in NAV if principal.role in PERMISSIONS[link.permission]]


def base_context(request: Request) -> dict[str, Any]:
    """What every template can use: who is signed in, their organisation, the CSRF token."""
    member = signed_in(request)
    token = csrf_token(request)

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, escape(token)
        )

    principal = member.principal if member else None
    return {
        "request": request,
        "principal": principal,
        "user": member.display_name if member else None,
        "org": member.org_name if member else None,
        "csrf_token": token,
        "csrf_field": csrf_field,
        "nav": nav_for(principal),
        "current_path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The template rendered with the base context and the page's own."""
    full = {**base_context(request), **(context or {})}
    return templates.TemplateResponse(
        request, template, full, status_code=status_code, headers=headers
    )


TITLES = {
    400: "The form has a problem",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not available",
    409: "Conflict",
    410: "This link is no longer valid",
    413: "Too large",
    415: "Unsupported file",
    422: "The form has a problem",
    429: "Too many attempts",
    500: "Something went wrong",
}


def render_error(
    request: Request,
    status: int,
    message: str,
    hint: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """The error page: what went wrong and what to do (never a traceback)."""
    back = _invitation_page(request.url.path) if status != 410 else None
    context = {
        "status": status, "heading": TITLES.get(status, "Error"), "message": message,
        "hint": hint or _default_hint(status, candidate=back is not None),
        "back": back or "/",
        "back_label": "Back to your invitation" if back else "Go to the start page",
    }  # fmt: skip
    return render(request, "error.html", context, status_code=status, headers=headers)


def _invitation_page(path: str) -> str | None:
    """A candidate's invitation page to go back to from an error below it (they have no '/')."""
    found = re.match(r"^(/i/[^/]+/)(.+)$", path)
    return found[1] if found else None


def _default_hint(status: int, *, candidate: bool = False) -> str:
    if status == 404:
        if candidate:
            return (
                "Go back to your invitation's page; the link in your invitation mail leads there."
            )
        return "Check the address, or go back to the start page."
    if status == 403:
        return "Reload the page you came from and try again; ask an owner if you need access."
    if status == 410:
        return "If you still need access, reply to the e-mail that sent you the link."
    if status >= 500:
        return "Try again in a moment; the service logged the problem."
    return "Go back, correct it and try again."
