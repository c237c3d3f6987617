"""One error body for every failure of the API: `{"error": {"code", "message", "fields"}}`.

DRF's exceptions go through `exception_handler`; what never reaches a DRF view (a path no route
matches, a method Django refuses, an exception outside a view) is rewritten by `ApiErrorBodies`.
"""

from __future__ import annotations

import json
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

log = logging.getLogger("mlconnector.api")

API_PREFIX = "/api/"

STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    500: "server_error",
    502: "provider_error",
    503: "unavailable",
}
CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "parse_error",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


class ApiError(exceptions.APIException):
    """An API failure with its own code, e.g. ApiError(409, "conflict", "...")."""

    def __init__(self, status: int, code: str, message: str, fields: dict | None = None):
        super().__init__(message, code)
        self.status_code = status
        self.error_code = code
        self.fields = fields or {}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [m for v in detail.values() for m in _flatten(v)]
    if isinstance(detail, list):
        return [m for v in detail for m in _flatten(v)]
    return [str(detail)]


def _fields(detail) -> dict:
    """Field name -> its messages; Django's '__all__' and DRF's non-field errors are 'non_field_errors'."""
    out: dict[str, list[str]] = {}
    for name, value in detail.items():
        key = "non_field_errors" if name in ("__all__", "non_field_errors") else str(name)
        out.setdefault(key, []).extend(_flatten(value))
    return out


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) if str(exc) and "matches the given query" not in str(exc) else None)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        log.exception("API view %s failed", context.get("view").__class__.__name__, exc_info=exc)
        return JsonResponse(body("server_error", "Something went wrong on our side; it was logged."), status=500)
    if isinstance(exc, ApiError):
        response.data = body(exc.error_code, str(exc.detail), exc.fields)
    elif isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = _fields(detail) if isinstance(detail, dict) else {"non_field_errors": _flatten(detail)}
        response.data = body("invalid", _invalid_message(fields), fields)
    else:
        code = (
            CODES.get(type(exc)) or getattr(exc, "default_code", "") or STATUS_CODES.get(response.status_code, "error")
        )
        message = " ".join(_flatten(exc.detail)) if hasattr(exc, "detail") else str(exc)
        response.data = body(code, message)
    return response


def _invalid_message(fields: dict) -> str:
    named = sorted(k for k in fields if k != "non_field_errors")
    general = fields.get("non_field_errors") or []
    parts = []
    if general:
        parts.append(" ".join(general))
    if named:
        parts.append("Check " + ", ".join(named) + ".")
    return " ".join(parts) or "The request is not valid."


class ApiErrorBodies:
    """Middleware: an /api/ answer that is an error but not JSON (no route matched, a bare 405, a
    crash outside a view) becomes the one error body, with the status it had."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX):
            return response
        if response.status_code in (301, 302) and response.get("Location", "").endswith(request.path + "/"):
            # CommonMiddleware's APPEND_SLASH: an API client is told, not redirected (a POST would lose its body).
            return JsonResponse(
                body("not_found", f"Nothing here: API routes end with a slash. Did you mean {request.path}/?"),
                status=404,
            )
        if response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        status = response.status_code
        message = {
            404: f"Nothing here: {request.path} is not an API route. The routes are listed at /api/v1/docs/.",
            405: f"{request.method} is not allowed here.",
        }.get(status, "The request could not be served.")
        replaced = JsonResponse(body(STATUS_CODES.get(status, "error"), message), status=status)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if response.has_header(header):
                replaced[header] = response[header]
        return replaced

    def process_exception(self, request, exception):
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, Http404):
            return JsonResponse(body("not_found", "Not found."), status=404)
        if isinstance(exception, DjangoPermissionDenied):
            return JsonResponse(body("permission_denied", str(exception) or "Not allowed."), status=403)
        log.exception("API request %s %s failed", request.method, request.path, exc_info=exception)
        return JsonResponse(body("server_error", "Something went wrong on our side; it was logged."), status=500)


def is_error_body(data) -> bool:
    try:
        parsed = json.loads(data) if isinstance(data, bytes | str) else data
        error = parsed["error"]
        return {"code", "message", "fields"} <= set(error)
    except (ValueError, KeyError, TypeError):
        return False
