"""Small helpers the fake providers share: JSON answers, bearer tokens, form-or-JSON bodies."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote

from django.http import HttpResponse


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, default=lambda o: str(o) if isinstance(o, Decimal) else o),
        status=status,
        content_type="application/json",
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def bearer_token(request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


def body_params(request) -> dict[str, Any]:
    """Form-encoded, multipart or JSON: providers' token endpoints accept several encodings."""
    ctype = (request.content_type or "").lower()
    if "json" in ctype:
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    if "multipart" in ctype:
        return {k: v for k, v in request.POST.items()}
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def json_body(request) -> Any:
    try:
        return json.loads(request.body or b"null", parse_float=Decimal)
    except ValueError:
        return None


def client_credentials(request, params: dict) -> tuple[str, str]:
    """An OAuth token endpoint's client authentication: HTTP Basic (client_secret_basic) or
    client_id/client_secret in the body (client_secret_post). Malformed Basic gives ("", "")."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            return unquote(client_id), unquote(secret)
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return str(params.get("client_id") or ""), str(params.get("client_secret") or "")
