"""The fake FreshBooks' HTTP API: the OAuth token endpoint, /users/me, accounting resources and
the events (callbacks) API, each behind faults.inject() and the optional rate-limit emulation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.freshbooks.sandbox import records
from integrations.freshbooks.sandbox.state import (
    BY_PATH,
    EASTERN,
    KINDS,
    PROVIDER,
    VALID_EVENTS,
    ApiError,
    Kind,
    announce,
    business,
    check_verifier,
    get_row,
    identity_json,
    iso_now,
    issue_tokens,
    membership,
    public,
    rows,
    save_new,
    send_verification,
)
from integrations.sandbox import faults, ratelimit, tokens
from integrations.sandbox.http import bearer_token, body_params, client_credentials, json_body, json_response
from integrations.sandbox.models import SandboxAccount, SandboxObject, SandboxToken

UNAUTHENTICATED = {"error": "unauthenticated", "error_description": "This action requires authentication to continue."}
EVENTS_UNAUTHENTICATED = {
    "errno": 401,
    "message": "invalid_token: The request token failed to authenticate or validate.",
}
EVENTS_NOT_FOUND = {"errno": 404, "message": "Requested resource could not be found."}
EVENTS_INVALID = "The request was well-formed but was unable to be followed due to semantic errors."
DEFAULT_PER_PAGE = 15  # the per_page the vendor fixtures show when none is asked for
MAX_PER_PAGE = 100  # larger requests are silently capped (https://www.freshbooks.com/api/parameters)
_SEARCH = re.compile(r"^search\[(?P<field>[A-Za-z0-9_]+)\](?P<list>\[\])?$")


# --- OAuth token endpoint and /users/me ---------------------------------------------------------


def _oauth_error(status: int, error: str, description: str) -> HttpResponse:
    return json_response({"error": error, "error_description": description}, status, {"Cache-Control": "no-store"})


@csrf_exempt
def token(request) -> HttpResponse:
    """POST auth/oauth/token, on the API host (vendors doc §1.1): form, multipart or JSON bodies."""
    injected = faults.inject(PROVIDER, request)
    if injected is not None:
        return injected
    if request.method != "POST":
        return _oauth_error(405, "invalid_request", "Use POST.")
    params = body_params(request)
    app = tokens.authenticate_app(PROVIDER, *client_credentials(request, params))
    if app is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed: unknown client or wrong secret.")
    grant = params.get("grant_type")
    if grant == "authorization_code":
        raw = params.get("code")
        code = tokens.find(PROVIDER, SandboxToken.Kind.CODE, raw)
        if code is None or code.app_id != app.pk or tokens.use_once(PROVIDER, "code", raw) is None:
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid, expired or already used.")
        if params.get("redirect_uri") != code.data.get("redirect_uri"):
            return _oauth_error(400, "invalid_grant", "redirect_uri does not match the authorization request.")
        person, scopes = code.account, code.scopes
    elif grant == "refresh_token":
        # Refresh tokens never expire but are single-use: each refresh returns the next one.
        raw = params.get("refresh_token")
        old = tokens.find(PROVIDER, SandboxToken.Kind.REFRESH, raw)
        if old is None or old.app_id != app.pk or tokens.use_once(PROVIDER, "refresh", raw) is None:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid, revoked or already used.")
        person, scopes = old.account, old.scopes
    else:
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token.")
    return json_response(issue_tokens(person, app, scopes), 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _access_token(request) -> SandboxToken | None:
    live = tokens.find(PROVIDER, SandboxToken.Kind.ACCESS, bearer_token(request))
    return live if live is not None and live.account is not None else None


def _gate(request, unauthenticated: dict) -> SandboxToken | HttpResponse:
    """Faults first, then the bearer token (looked up again: a revoke fault may just have hit it)."""
    live = _access_token(request)
    injected = faults.inject(PROVIDER, request, live.account if live else None)
    if injected is not None:
        return injected
    live = _access_token(request)
    if live is None:
        return json_response(unauthenticated, 401)
    limit = getattr(settings, "FRESHBOOKS_SANDBOX_RATE_LIMIT", None)
    if limit and not ratelimit.window(f"{PROVIDER}:{live.account_id}", int(limit[0]), float(limit[1])).allowed:
        return json_response({"errno": 429, "message": "Too many requests."}, 429)  # no headers: none are published
    return live


@csrf_exempt
def me(request) -> HttpResponse:
    """GET auth/api/v1/users/me: {"response": {...}} with no "result" level (auth_me_response.json)."""
    live = _gate(request, UNAUTHENTICATED)
    if isinstance(live, HttpResponse):
        return live
    if request.method != "GET":
        return _oauth_error(405, "invalid_request", "Use GET.")
    return json_response({"response": identity_json(live.account)})


# --- accounting REST ------------------------------------------------------------------------------


def _api_error(error: ApiError) -> HttpResponse:
    return json_response(error.envelope(), error.status)


def _business_for(live: SandboxToken, account_id: str) -> SandboxAccount | None:
    account = business(account_id)
    return account if account is not None and membership(live.account, account_id) is not None else None


def _has_scope(live: SandboxToken, kind: Kind, write: bool) -> bool:
    granted = set(live.scopes.split())
    if not granted:  # a token issued without scopes carries all of the app's
        return True
    wanted = {f"user:{kind.scope}:write"} if write else {f"user:{kind.scope}:read", f"user:{kind.scope}:write"}
    return bool(granted & wanted)


@csrf_exempt
def accounting(request, account_id: str, resource: str, object_id: str | None = None) -> HttpResponse:
    live = _gate(request, UNAUTHENTICATED)
    if isinstance(live, HttpResponse):
        return live
    account = _business_for(live, account_id)
    if account is None:
        # UNCONFIRMED body: FreshBooks' answer for a business the identity cannot see is undocumented.
        return _oauth_error(403, "forbidden", f"This identity has no access to business {account_id}.")
    kind = BY_PATH.get(resource)
    if kind is None:
        return _api_error(ApiError(404, "Requested resource not found.", errno=1012, value=resource))
    if not _has_scope(live, kind, write=request.method != "GET"):
        need = f"user:{kind.scope}:{'read' if request.method == 'GET' else 'write'}"
        return _oauth_error(403, "insufficient_scope", f"This action requires the {need} scope.")
    includes = set(request.GET.getlist("include[]"))
    try:
        if request.method == "GET" and object_id is None:
            found = _search(request, [r.data for r in rows(account, kind.name)])
            page, meta = _paginate(request, found)
            return _result({kind.plural: [public(kind, r, includes) for r in page], **meta})
        if request.method == "GET":
            return _result({kind.single: public(kind, get_row(account, kind, object_id).data, includes)})
        if request.method == "POST" and object_id is None:
            record, changes = records.create(account, kind, _wrapped(request, kind.single))
        elif request.method == "PUT" and object_id is not None:
            record, changes = records.update(account, kind, object_id, _wrapped(request, kind.single))
        elif request.method == "DELETE" and object_id is not None and kind.name == "invoice":
            record, changes = records.delete(account, kind, object_id)
        else:
            raise ApiError(405, f"{request.method} is not supported here.", obj=kind.name)
    except ApiError as error:
        return _api_error(error)
    announce(changes, live.account)  # after the commit: the receiver fetches the record at once
    # Faults queued for "freshbooks-after" apply once the write is done: a lost or slow answer to a
    # write that happened, the window in which a client could post the same payment twice.
    after = faults.inject(PROVIDER + "-after", request, account)
    if after is not None:
        return after
    return _result({kind.single: public(kind, record, includes)})


def _result(result: dict) -> HttpResponse:
    return json_response({"response": {"result": result}})


def _wrapped(request, single: str) -> dict:
    """Request bodies are wrapped in the singular name: {"invoice": {...}}."""
    body = json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get(single), dict):
        raise ApiError(400, f"The body must be a JSON object wrapped in '{single}'.", field=single)
    return body[single]


def _paginate(request, items: list[dict]) -> tuple[list[dict], dict]:
    """page=0 is page 1, a page past the end is empty, per_page is silently capped at 100."""
    try:
        page = max(int(request.GET.get("page") or 1), 1)
        per_page = int(request.GET.get("per_page") or DEFAULT_PER_PAGE)
    except ValueError:
        raise ApiError(400, "page and per_page must be whole numbers.", field="page", value=request.GET.get("page"))
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    total = len(items)
    pages = max(1, -(-total // per_page))
    start = (page - 1) * per_page
    return items[start : start + per_page], {"page": page, "pages": pages, "per_page": per_page, "total": total}


def _updated_day(record: dict) -> str:
    """The record's last-change day in US/Eastern, for search[updated_min]/[updated_max]."""
    if record.get("updated"):
        return str(record["updated"])[:10]
    utc = datetime.fromisoformat(str(record.get("updated_at") or "1970-01-01 00:00:00")).replace(tzinfo=UTC)
    return utc.astimezone(EASTERN).date().isoformat()


def _search(request, items: list[dict]) -> list[dict]:
    """search[f]=v (equality), search[fs][]=v (in list), search[f_like], search[f_min]/[f_max].

    Date bounds work at day granularity (search[updated_min]=2024-05-01 means on or after that
    day). A filter on a field the records do not have is ignored: being tolerant, since how
    FreshBooks treats unknown filters is undocumented.
    """
    for key in request.GET:
        m = _SEARCH.match(key)
        if m is None:
            continue
        field, values = m["field"], [v.strip() for v in request.GET.getlist(key)]
        if m["list"]:
            base = field[:-1] if field.endswith("s") else field
            items = [r for r in items if base not in r or str(r[base]) in values]
        elif field.endswith(("_min", "_max")):
            items = [r for r in items if _within(r, field[:-4], values[-1], field.endswith("_min"))]
        elif field.endswith("_like"):
            base = field[:-5]
            items = [r for r in items if base not in r or values[-1].lower() in str(r[base] or "").lower()]
        elif field == "event":  # callbacks: matches the event and its parent (staging.freshenv.com/api/webhooks)
            v = values[-1]
            items = [r for r in items if v in (r["event"], r["event"].split(".")[0]) or r["event"] == v.split(".")[0]]
        else:
            items = [r for r in items if field not in r or str(r[field]) == values[-1]]
    return items


def _within(record: dict, base: str, bound: str, lower: bool) -> bool:
    if base == "updated":
        day, value = _updated_day(record), bound[:10]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ApiError(400, "Dates must be YYYY-MM-DD.", field=f"updated_{'min' if lower else 'max'}", value=bound)
        return day >= value if lower else day <= value
    if base not in record:
        return True
    have = record[base]
    if isinstance(have, dict):  # money: compare amounts as Decimal
        try:
            have, want = Decimal(str(have.get("amount"))), Decimal(bound)
        except InvalidOperation:
            raise ApiError(400, f"{base} bounds must be amounts.", field=base, value=bound) from None
        return have >= want if lower else have <= want
    return str(have) >= bound if lower else str(have) <= bound


# --- events API: webhook callbacks -----------------------------------------------------------------


def _events_error(status: int, message: str, details: list[str] | None = None) -> HttpResponse:
    return json_response({"errno": status, "message": message, **({"details": details} if details else {})}, status)


def _callback_input(request) -> dict | HttpResponse:
    body = json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("callback"), dict):
        return _events_error(422, EVENTS_INVALID, ["callback: Field required"])
    return body["callback"]


@csrf_exempt
def callbacks(request, account_id: str, callback_id: str | None = None) -> HttpResponse:
    live = _gate(request, EVENTS_UNAUTHENTICATED)
    if isinstance(live, HttpResponse):
        return live
    account = _business_for(live, account_id)
    if account is None:
        return _events_error(403, f"This identity has no access to business {account_id}.")
    kind = KINDS["callback"]
    if callback_id is None:
        if request.method == "GET":
            try:
                page, meta = _paginate(request, _search(request, [r.data for r in rows(account, "callback")]))
            except ApiError as error:
                return _events_error(400, error.message)
            return _result({"callbacks": [public(kind, r) for r in page], **meta})
        if request.method != "POST":
            return _events_error(405, "Method not allowed.")
        return _create_callback(request, account, live.account)
    try:
        row = get_row(account, kind, callback_id)
    except ApiError:
        return json_response(EVENTS_NOT_FOUND, 404)
    if request.method == "GET":
        return _result({"callback": public(kind, row.data)})
    if request.method == "DELETE":
        row.delete()
        return HttpResponse(status=204)
    if request.method != "PUT":
        return _events_error(405, "Method not allowed.")
    return _update_callback(request, account, row, live.account)


def _create_callback(request, account: SandboxAccount, person: SandboxAccount) -> HttpResponse:
    fields = _callback_input(request)
    if isinstance(fields, HttpResponse):
        return fields
    event, uri = fields.get("event"), fields.get("uri")
    details = []
    if event not in VALID_EVENTS:
        details.append("event: Value error, Unrecognized event.")
    parts = urlsplit(uri) if isinstance(uri, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        details.append("uri: Input should be a valid URL, relative URL without a base")
    if details:
        return _events_error(422, EVENTS_INVALID, details)
    row = save_new(account, KINDS["callback"], {"event": event, "uri": uri, "verified": False, "updated_at": iso_now()})
    send_verification(account, row, person)  # committed first: the receiver may PUT the verifier back at once
    return _result({"callback": public(KINDS["callback"], row.data)})


def _update_callback(request, account: SandboxAccount, row: SandboxObject, person: SandboxAccount) -> HttpResponse:
    fields = _callback_input(request)
    if isinstance(fields, HttpResponse):
        return fields
    if "verifier" in fields:
        if not check_verifier(row, fields["verifier"]):
            return _events_error(422, EVENTS_INVALID, ["verifier: Value error, Invalid verifier."])
        row.data.update(verified=True, updated_at=iso_now())
        row.save(update_fields=["data", "updated_at"])
    elif fields.get("resend") is True:
        # A new verifier replaces the old one, so the callback waits to be verified again.
        row.data.update(verified=False, updated_at=iso_now())
        row.save(update_fields=["data", "updated_at"])
        send_verification(account, row, person)
    else:
        return _events_error(422, EVENTS_INVALID, ["callback: Send a verifier, or resend: true."])
    return _result({"callback": public(KINDS["callback"], row.data)})
