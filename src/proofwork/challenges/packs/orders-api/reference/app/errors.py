"""The one error type the API raises, and the handlers that give every error the contract's shape."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("app.errors")


class ApiError(Exception):
    """An answer other than success: HTTP status, machine code, human message, extra fields."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_body(code: str, message: str, **extra: str) -> dict[str, Any]:
    """The contract's Error shape."""
    return {"error": {"code": code, "message": message, **extra}}


def describe_validation_errors(errors: list[Any]) -> str:
    """Turn pydantic's error list into one readable sentence naming the fields."""
    parts = []
    for error in errors[:5]:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, including FastAPI's own, answer in the Error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(error_body(exc.code, exc.message, **exc.extra), status_code=exc.status)


async def _request_validation_error(_: Request, exc: Exception) -> JSONResponse:
    # FastAPI validates only query, path and header parameters here; bodies are parsed in api.py.
    assert isinstance(exc, RequestValidationError)
    message = describe_validation_errors(list(exc.errors()))
    return JSONResponse(error_body("invalid_parameter", message), status_code=400)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = "not_found" if exc.status_code == 404 else "method_not_allowed"
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "something went wrong on our side"), status_code=500)
