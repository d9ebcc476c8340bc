"""One error body everywhere: {"error": {"code", "message", "fields"}}, whatever went wrong."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    500: "internal",
}


class FieldProblem(BaseModel):
    location: str
    message: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldProblem] = []


class ErrorBody(BaseModel):
    """What every 4xx and 5xx response carries."""

    error: ErrorDetail


class ApiError(Exception):
    """An error a caller sees: its status, a stable code and a message saying what to do."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message = status, message
        self.code = code or CODES.get(status, "error")


def not_found(what: str) -> ApiError:
    """The same answer for missing objects and other organisations' objects."""
    return ApiError(404, f"no such {what}")


def _body(
    status: int, code: str, message: str, fields: list[FieldProblem] | None = None
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, fields=fields or []))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field(error: dict[str, Any]) -> FieldProblem:
    location = ".".join(str(part) for part in error.get("loc", ()))
    return FieldProblem(location=location, message=str(error.get("msg", "invalid")))


# The pages answer errors with an HTML page: `app.state.page_error(request, status, message)`
# renders one, or returns None when the request is the API's.
PageErrorHook = Callable[[Request, int, str], Response | None]


def _page(request: Request, status: int, message: str) -> Response | None:
    hook: PageErrorHook | None = getattr(request.app.state, "page_error", None)
    return hook(request, status, message) if hook else None


PAGE_MESSAGES = {
    404: "There is no page at this address.",
    405: "This page cannot be used that way.",
}


def install(app: FastAPI) -> None:
    """Route every error through the one body shape (an HTML page outside the API)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        message = exc.message[:1].upper() + exc.message[1:]
        message += "" if message.endswith((".", "?", "!")) else "."
        return _page(request, exc.status, message) or _body(exc.status, exc.code, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        message = PAGE_MESSAGES.get(exc.status_code, str(exc.detail))
        return _page(request, exc.status_code, message) or _body(
            exc.status_code, CODES.get(exc.status_code, "error"), str(exc.detail)
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [_field(e) for e in exc.errors()]
        listed = "; ".join(f"{f.location.split('.')[-1]}: {f.message}" for f in fields)
        page = _page(request, 400, f"Some of what was sent is not right ({listed}).")
        return page or _body(
            422, "invalid", "the request does not match the API; see fields", fields
        )

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        page = _page(request, 500, "The service failed on this request; it was logged.")
        return page or _body(500, "internal", "the service failed on this request; it was logged")


# Errors are JSON even on routes that answer HTML or a stream, so the media type is explicit.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ErrorBody,
        "description": CODES[status].replace("_", " "),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status in (401, 403, 404, 409, 413, 415, 422)
}
