"""The fake Monday.com's GraphQL endpoint (POST /v2): token, version, validation, complexity, execution."""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.monday.sandbox import graphql as gql
from integrations.monday.sandbox.boards import PROVIDER, ensure_account
from integrations.monday.sandbox.complexity import PER_QUERY_CAP, charge, cost
from integrations.monday.sandbox.errors import MondayError, envelope, formatted, request_id, simple
from integrations.monday.sandbox.limits import bump
from integrations.monday.sandbox.resolvers import root
from integrations.sandbox import faults, tokens
from integrations.sandbox.http import json_response
from integrations.sandbox.models import SandboxToken


def raw_token(request) -> str | None:
    """The raw token (what monday's SDK sends); a "Bearer " prefix is tolerated (acceptance UNCONFIRMED)."""
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer "):
        header = header[7:].strip()
    return header or None


def live_token(request) -> SandboxToken | None:
    token = tokens.find(PROVIDER, SandboxToken.Kind.ACCESS, raw_token(request))
    return token if token is not None and token.account is not None else None


def _error(status: int, message: str, code: str, account_id=None, headers=None, **extensions) -> HttpResponse:
    body = envelope([simple(message, code, status, **extensions)], account_id, with_data=False)
    if status >= 400:
        bump("errors")
    return json_response(body, status, headers)


@csrf_exempt
def api(request) -> HttpResponse:
    """POST v2: {"query", "variables", "operationName"} with the token in Authorization."""
    ensure_account()
    bump("calls")
    live = live_token(request)
    injected = faults.inject(PROVIDER, request, live.account if live else None)
    if injected is not None:
        bump("faults")
        if injected.status_code == 429:
            bump("http_429s")
        return injected
    live = live_token(request)
    if live is None:
        bump("unauthorized")
        return _error(401, "Not Authenticated", "Unauthorized")  # body UNCONFIRMED (vendors note §1.6)
    account_id = live.account.key
    if request.method != "POST":
        return _error(400, "Bad request: use POST with a JSON body", "BAD_REQUEST", account_id)
    try:
        payload = json.loads(request.body or b"")
    except ValueError:
        return _error(400, "Bad request: the body is not valid JSON", "JsonParseException", account_id)
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str) or not payload["query"].strip():
        return _error(400, "Bad request: no query string was present", "BAD_REQUEST", account_id)
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict):
        return _error(400, "Bad request: variables must be a JSON object", "BAD_REQUEST", account_id)
    rid = request_id()
    version = request.headers.get("API-Version") or getattr(settings, "SANDBOX_MONDAY_DEFAULT_API_VERSION", "2026-10")
    if not gql.valid_version(version):
        error = MondayError(
            f"Invalid API version: {version!r}. Use YYYY-MM (months 01, 04, 07, 10) or dev",
            "InvalidVersionException",
            error_data={"api_version": version},
        )
        return _graphql_errors([error], rid, account_id)
    prepared = gql.prepare(payload["query"], variables, payload.get("operationName"))
    if prepared.errors:
        return _graphql_errors(prepared.errors, rid, account_id)
    points = cost(gql.schema(), prepared.operation, prepared.fragments, prepared.variables)
    if points > PER_QUERY_CAP:
        error = MondayError(
            f"Query has complexity of {points}, which exceeds max complexity of {PER_QUERY_CAP}",
            "maxComplexityExceeded",
            error_data={"complexity": points, "max_complexity": PER_QUERY_CAP},
        )
        return _graphql_errors([error], rid, account_id)
    spent = charge(live.pk, points)
    if not spent.allowed:
        return _budget_exhausted(spent, rid, account_id)
    bump("complexity_points", points)
    if prepared.is_mutation:
        bump("mutations")
    scopes = None if live.data.get("kind") == "personal" or not live.scopes else set(live.scopes.split())
    context = {"account": live.account, "token": live, "charge": spent, "scopes": scopes, "request_id": rid}
    result = gql.run(prepared, root(context), context, variables)
    body = {"data": result.data}
    if result.errors:
        bump("errors")
        body["errors"] = [formatted(e, rid) for e in result.errors]
    body["account_id"] = int(account_id)
    return json_response(body)


def _graphql_errors(errors, rid: str, account_id) -> HttpResponse:
    bump("errors")
    return json_response(envelope([formatted(e, rid) for e in errors], account_id, None))


def _budget_exhausted(spent, rid: str, account_id) -> HttpResponse:
    """COMPLEXITY_BUDGET_EXHAUSTED in the 2025-01+ shape (changelog "hotfix-updated-complexity-…")."""
    bump("complexity_429s")
    retry = max(spent.reset_in, 1)
    body = {
        "errors": [
            {
                "message": "Complexity budget exhausted",
                "extensions": {
                    "code": "COMPLEXITY_BUDGET_EXHAUSTED",
                    "complexity": spent.query,
                    "complexity_budget_left": spent.before,
                    "complexity_budget_limit": spent.limit,
                    "retry_in_seconds": retry,
                    "status_code": 429,
                    "request_id": rid,
                },
            }
        ],
        "account_id": int(account_id),
    }
    status = 200 if getattr(settings, "SANDBOX_MONDAY_COMPLEXITY_HTTP_200", False) else 429
    if status == 429:
        bump("http_429s")
    bump("errors")
    return json_response(body, status, {"Retry-After": str(retry)})
