"""The service's errors: one root class, one HTTP status per class, one JSON shape.

Every error response reads ``{"error": {"code": "...", "message": "..."}}``;
``code`` is stable for programs, ``message`` is written for a person.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

logger = logging.getLogger(__name__)


class AppError(Exception):
    """Root of the service's errors."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.headers = headers


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class InvalidInput(AppError):
    status, code = 422, "invalid_input"


class TooManyRequests(AppError):
    status, code = 429, "too_many_requests"


class ServiceUnavailable(AppError):
    status, code = 503, "unavailable"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status,
                        headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return "; ".join(parts) or "invalid request"


def install_handlers(app: FastAPI) -> None:
    """Map every error to the one JSON shape."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, f"http_{exc.status_code}")
        headers = dict(exc.headers) if exc.headers else {}
        if exc.status_code == 405:  # every method of the path, not only the first route's
            methods: set[str] = set()
            for route in request.app.routes:
                if route.matches(request.scope)[0] != Match.NONE:
                    methods |= getattr(route, "methods", None) or set()
            headers["Allow"] = ", ".join(sorted(methods))
        return error_response(exc.status_code, code, str(exc.detail), headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; see the service log")


def responses(*statuses: int, stream: bool = False) -> dict[int | str, dict]:
    """OpenAPI descriptions of a route's error responses (always JSON, even beside a stream)."""
    text = {400: "Body that cannot be parsed", 401: "Missing or wrong API key",
            404: "Not found (or another tenant's)", 409: "Conflict with the resource's state",
            413: "Body over the limit", 422: "Invalid input", 429: "Too many requests",
            503: "Unavailable"}
    if 401 in statuses:  # the key's dependency also limits its request rate
        statuses = (*statuses, 429) if 429 not in statuses else statuses
    if stream:  # FastAPI would file a model under the route's own media type
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        return {s: {"description": text[s], "content": {"application/json": {"schema": ref}}}
                for s in statuses}
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


__all__ = [
    "AppError", "Conflict", "ErrorBody", "InvalidInput", "NotFound", "PayloadTooLarge",
    "ServiceUnavailable", "TooManyRequests", "Unauthorized", "error_response",
    "install_handlers", "responses",
]
