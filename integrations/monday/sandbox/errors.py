"""Monday's unified (2025-01+) error format, for the sandbox (vendors note §1.6).

    {"data": ... | null,
     "errors": [{"message", "locations", "path",
                 "extensions": {"code", "error_data", "status_code", "request_id"}}],
     "account_id": 123}

Application errors travel in an HTTP 200; `extensions.status_code` says what the HTTP status
would have been in the legacy format (403 for permissions, 404 for missing resources...).
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLError


class MondayError(GraphQLError):
    """Raised by resolvers and parsers; graphql-core attaches locations and path."""

    def __init__(self, message: str, code: str, *, error_data: dict | None = None, status_code: int = 200, **extra):
        super().__init__(
            message, extensions={"code": code, "error_data": error_data or {}, "status_code": status_code, **extra}
        )

    @property
    def code(self) -> str:
        return self.extensions["code"]


def request_id() -> str:
    return str(uuid.uuid4())


def formatted(error: GraphQLError, rid: str) -> dict[str, Any]:
    """One entry of errors[]: graphql-core's shape plus Monday's extensions."""
    out = error.formatted
    extensions = dict(out.get("extensions") or {})
    extensions.setdefault("code", "INTERNAL_SERVER_ERROR")
    extensions.setdefault("error_data", {})
    extensions.setdefault("status_code", 200)
    extensions["request_id"] = rid
    out["extensions"] = extensions
    if out.get("locations") is None:
        out.pop("locations", None)
    if out.get("path") is None:
        out.pop("path", None)
    return out


def envelope(errors: list[dict], account_id: Any, data: Any = None, *, with_data: bool = True) -> dict:
    body: dict[str, Any] = {}
    if with_data:
        body["data"] = data
    body["errors"] = errors
    if account_id is not None:
        body["account_id"] = int(account_id)
    return body


def simple(message: str, code: str, status_code: int, rid: str | None = None, **extensions) -> dict:
    return {
        "message": message,
        "extensions": {
            "code": code,
            "error_data": extensions.pop("error_data", {}),
            "status_code": status_code,
            "request_id": rid or request_id(),
            **extensions,
        },
    }
