"""The browser pages: a second face on the API's services, outside /api/v1 and its schema.

Each area has its page router; `router` includes them all (an area adds one line below).
`install` wires the sessions, the CSRF check, the security headers, the error pages and the
static files into the app.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from proofwork.web.pages import account, candidate, hiring, review, runs
from proofwork.web.pages.security import PageGuard, is_page_path
from proofwork.web.pages.session import PageError, SignInRequired, session_principal
from proofwork.web.pages.templating import STATIC, render_error

router = APIRouter(include_in_schema=False)
router.include_router(account.router)
router.include_router(candidate.router)
router.include_router(runs.router)
router.include_router(review.router)
router.include_router(hiring.router)


def page_error(request: Request, status: int, message: str) -> Response | None:
    """The error page for a page request; None for the API's (which answers JSON)."""
    if not is_page_path(request.url.path):
        return None
    return render_error(request, status, message)


def install(app: FastAPI) -> None:
    """Add the pages to the app: routes, static files, sessions, CSRF, headers, error pages."""
    app.state.session_principal = session_principal
    app.state.page_error = page_error
    app.add_middleware(PageGuard)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in(_request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return render_error(request, exc.status, exc.message, exc.hint)

    app.include_router(router)
