"""The console's refusals: one exception, one JSON shape (`{"error": code, "detail": text}`)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

__all__ = ["ApiError", "install_error_handler"]


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}

    @classmethod
    def not_authenticated(cls) -> ApiError:
        return cls(401, "not_authenticated", "log in first (no session, or it expired)")

    @classmethod
    def forbidden(cls, detail: str = "your role may not do this") -> ApiError:
        return cls(403, "forbidden", detail)

    @classmethod
    def not_found(cls, what: str) -> ApiError:
        return cls(404, "not_found", f"no such {what}")


def install_error_handler(app: FastAPI) -> None:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return JSONResponse({"error": exc.error, "detail": exc.detail}, exc.status, headers=exc.headers)

    app.add_exception_handler(ApiError, handle)
