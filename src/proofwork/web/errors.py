"""One error body everywhere: {"error": {"code", "message", "fields"}}, whatever went wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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


def install(app: FastAPI) -> None:
    """Route every error through the one body shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _body(exc.status, exc.code, exc.message)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return _body(exc.status_code, CODES.get(exc.status_code, "error"), str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [_field(e) for e in exc.errors()]
        return _body(422, "invalid", "the request does not match the API; see fields", fields)

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _body(500, "internal", "the service failed on this request; it was logged")


# Errors are JSON even on routes that answer HTML or a stream, so the media type is explicit.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": ErrorBody,
        "description": CODES[status].replace("_", " "),
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status in (401, 403, 404, 409, 413, 415, 422)
}
