"""The Slack sandbox's Web API: oauth.v2.access, auth.test, conversations.list/join, chat.postMessage.

Like Slack (vendors doc §3.8): form-encoded or JSON bodies; the token from `Authorization: Bearer`
or a `token` argument; almost every failure is HTTP 200 `{"ok": false, "error": ...}`; only rate
limiting is HTTP 429 with `Retry-After` and `{"ok": false, "error": "ratelimited"}`. Every view
calls faults.inject() first so tests can queue 5xx, 429s, timeouts and revocations.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable

from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.sandbox import faults, tokens
from integrations.sandbox.http import bearer_token, body_params, client_credentials, json_response
from integrations.sandbox.models import SandboxAccount, SandboxObject, SandboxToken
from integrations.slack.sandbox import state as state
from integrations.slack.sandbox.checks import MAX_TEXT, SlackError, check_arguments, check_blocks, parse_blocks

PROVIDER = state.PROVIDER
RATELIMITED = {"ok": False, "error": "ratelimited"}
CHANNEL_TYPES = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "mpim": "mpim:read",
    "im": "im:read",
}
MAX_LIST_LIMIT = 1000  # "Must be an integer under 1000"
DEFAULT_LIST_LIMIT = 100


def ok(**fields) -> HttpResponse:
    return json_response({"ok": True, **fields})


def failed(error: SlackError) -> HttpResponse:
    return json_response(error.body())


def ratelimited(retry_after: int) -> HttpResponse:
    return json_response(RATELIMITED, 429, {"Retry-After": str(retry_after)})


def params_of(request) -> dict:
    """Query string and body together (Slack reads arguments from either); the body wins."""
    params = {k: v for k, v in request.GET.items()}
    if request.method == "POST":
        params |= body_params(request)
    return params


# --- OAuth v2 -----------------------------------------------------------------------------------------


@csrf_exempt
def oauth_access(request) -> HttpResponse:
    """POST api/oauth.v2.access: the code grant (single-use code, same redirect_uri) and refresh grant."""
    injected = faults.inject(PROVIDER, request)
    if injected is not None:
        return injected
    state.ensure_workspace()
    params = params_of(request)
    client_id, secret = client_credentials(request, params)
    if tokens.app_for(PROVIDER, client_id) is None:
        return failed(SlackError("invalid_client_id"))
    app = tokens.authenticate_app(PROVIDER, client_id, secret)
    if app is None:
        return failed(SlackError("bad_client_secret"))
    grant = params.get("grant_type") or "authorization_code"
    try:
        if grant == "authorization_code":
            account, scopes = _redeem_code(app, params)
        elif grant == "refresh_token":
            account, scopes = _redeem_refresh(app, params)
        else:
            raise SlackError("invalid_grant_type")
    except SlackError as error:
        return failed(error)
    return json_response(state.issue_tokens(account, app, scopes), 200, {"Cache-Control": "no-store"})


def _redeem_code(app, params: dict) -> tuple[SandboxAccount, str]:
    raw = params.get("code")
    code = tokens.find(PROVIDER, SandboxToken.Kind.CODE, raw)
    if code is None or code.used_at is not None or code.app_id != app.pk:
        raise SlackError("invalid_code")
    # "This must match the originally submitted URI (if one was sent)."
    if code.data.get("redirect_uri") and params.get("redirect_uri") != code.data["redirect_uri"]:
        raise SlackError("bad_redirect_uri")
    if tokens.use_once(PROVIDER, SandboxToken.Kind.CODE, raw) is None:
        raise SlackError("invalid_code")  # a concurrent exchange took it first
    return code.account, code.scopes


def _redeem_refresh(app, params: dict) -> tuple[SandboxAccount, str]:
    # Refresh tokens are single-use: each refresh answers with the next one (token rotation).
    raw = params.get("refresh_token")
    old = tokens.find(PROVIDER, SandboxToken.Kind.REFRESH, raw)
    if old is None or old.app_id != app.pk or tokens.use_once(PROVIDER, SandboxToken.Kind.REFRESH, raw) is None:
        raise SlackError("invalid_refresh_token")
    return old.account, old.scopes


# --- authentication and the view wrapper ----------------------------------------------------------


def _token_of(request, params: dict) -> str | None:
    return bearer_token(request) or params.get("token") or None


def authenticate(raw: str | None) -> SandboxToken:
    if not raw:
        raise SlackError("not_authed")
    token = state.lookup_access(raw)
    if token is None or token.account is None:
        raise SlackError("invalid_auth")
    if token.revoked_at is not None:
        raise SlackError("token_revoked")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise SlackError("token_expired")
    if token.account.data.get("inactive"):
        raise SlackError("account_inactive")
    return token


def require_scope(token: SandboxToken, needed: str) -> None:
    if needed not in state.token_scopes(token):
        raise SlackError("missing_scope", needed=needed, provided=token.scopes)


def api_method(*, get: bool = False, on_injected: Callable | None = None) -> Callable:
    """Faults first (with the token's workspace, so a revoke fault hits it), then the token, then the view.

    Methods other than auth.test and conversations.list answer only POST (HTTP 405 otherwise: a
    sandbox choice, Slack's answer is undocumented).
    """

    def wrap(view: Callable) -> Callable:
        @csrf_exempt
        def handle(request) -> HttpResponse:
            params = params_of(request)
            known = state.lookup_access(_token_of(request, params))
            injected = faults.inject(PROVIDER, request, known.account if known else None)
            if injected is not None:
                return on_injected(injected, known, params) if on_injected else injected
            if request.method != "POST" and not (get and request.method == "GET"):
                return json_response({"ok": False, "error": "method_not_allowed"}, 405, {"Allow": "POST"})
            try:
                token = authenticate(_token_of(request, params))
                return view(request, token, params)
            except SlackError as error:
                return failed(error)

        handle.__name__ = view.__name__
        return handle

    return wrap


# --- methods ----------------------------------------------------------------------------------------------


@api_method(get=True)
def auth_test(request, token: SandboxToken, params: dict) -> HttpResponse:
    account = token.account
    extra = {}
    if token.expires_at is not None:
        extra["expires_in"] = max(0, int((token.expires_at - timezone.now()).total_seconds()))
    return ok(
        url=f"https://{account.data.get('domain', state.TEAM_DOMAIN)}.slack.com/",
        team=account.name,
        user="ml-connector",
        team_id=account.key,
        user_id=state.BOT_USER_ID,
        bot_id=state.BOT_ID,
        app_id=state.APP_ID,
        is_enterprise_install=False,
        **extra,
    )


def _flag(value) -> bool:
    return value is True or str(value).lower() in ("true", "1")


def _cursor(channel_id: str) -> str:
    return base64.b64encode(f"channel:{channel_id}".encode()).decode()


def _cursor_start(cursor: str, ids: list[str]) -> int:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise SlackError("invalid_cursor") from None
    kind, _, channel_id = decoded.partition(":")
    if kind != "channel" or channel_id not in ids:
        raise SlackError("invalid_cursor")
    return ids.index(channel_id)


@api_method(get=True)
def conversations_list(request, token: SandboxToken, params: dict) -> HttpResponse:
    """Cursor pagination; next_cursor is "" (present) at the end. Private channels: member + groups:read."""
    types = [t.strip() for t in str(params.get("types") or "public_channel").split(",") if t.strip()]
    if not types or any(t not in CHANNEL_TYPES for t in types):
        raise SlackError("invalid_types")
    granted = state.token_scopes(token)
    readable = [t for t in types if CHANNEL_TYPES[t] in granted]
    if not readable:
        raise SlackError("missing_scope", needed=CHANNEL_TYPES[types[0]], provided=token.scopes)
    raw_limit = str(params.get("limit") or DEFAULT_LIST_LIMIT)
    if not raw_limit.isdigit() or not 0 < int(raw_limit) < MAX_LIST_LIMIT:
        raise SlackError("invalid_limit")
    pace = state.pace_list(token.account, token.app_id)
    if not pace.allowed:
        return ratelimited(pace.retry_after)
    rows = []
    for row in state.channel_rows(token.account):
        d = row.data
        if _flag(params.get("exclude_archived")) and d["is_archived"]:
            continue
        if d["is_private"] and ("private_channel" not in readable or not d["is_member"]):
            continue
        if not d["is_private"] and "public_channel" not in readable:
            continue
        rows.append(row)
    ids = [r.object_id for r in rows]
    start = _cursor_start(params["cursor"], ids) if params.get("cursor") else 0
    page = rows[start : start + int(raw_limit)]
    after = start + len(page)
    next_cursor = _cursor(ids[after]) if after < len(ids) else ""
    return ok(channels=[state.channel_json(r) for r in page], response_metadata={"next_cursor": next_cursor})


@api_method()
def conversations_join(request, token: SandboxToken, params: dict) -> HttpResponse:
    require_scope(token, "channels:join")
    row = state.find_channel(token.account, params.get("channel"))
    if row is None or (row.data["is_private"] and not row.data["is_member"]):
        raise SlackError("channel_not_found")  # a private channel the bot is not in is invisible to it
    if row.data["is_private"]:
        raise SlackError("method_not_supported_for_channel_type")
    if row.data["is_archived"]:
        raise SlackError("is_archived")
    if row.data["is_member"]:
        return ok(
            channel=state.channel_json(row),
            warning="already_in_channel",
            response_metadata={"warnings": ["already_in_channel"]},
        )
    row.data["is_member"] = True
    row.save(update_fields=["data", "updated_at"])
    return ok(channel=state.channel_json(row))


def _on_post_injected(injected: HttpResponse, known: SandboxToken | None, params: dict) -> HttpResponse:
    """An injected 429 on chat.postMessage counts for its channel, like a paced one."""
    if injected.status_code == 429 and known is not None and known.account is not None:
        row = state.find_channel(known.account, params.get("channel"))
        if row is not None:
            state.count_429(known.account, row.object_id)
    return injected


@api_method(on_injected=_on_post_injected)
def chat_post_message(request, token: SandboxToken, params: dict) -> HttpResponse:
    require_scope(token, "chat:write")
    check_arguments("chat.postMessage", params)
    blocks = parse_blocks(params.get("blocks"))
    text = params.get("text") or ""
    if params.get("markdown_text") and (text or blocks):
        raise SlackError("markdown_text_conflict")
    if not text and not blocks and not params.get("attachments") and not params.get("markdown_text"):
        raise SlackError("no_text")
    if blocks:
        check_blocks(blocks)
    account = token.account
    row = state.find_channel(account, params.get("channel"))
    if row is None:
        raise SlackError("channel_not_found")
    channel = row.data
    if channel["is_archived"]:
        raise SlackError("is_archived")
    if not channel["is_member"] and (channel["is_private"] or "chat:write.public" not in state.token_scopes(token)):
        raise SlackError("not_in_channel")
    pace = state.pace_channel(account, row.object_id, arrived=request.META.get("sandbox.arrived"))
    if not pace.allowed:
        state.count_429(account, row.object_id)
        return ratelimited(pace.retry_after)
    warnings = []
    if len(text) > MAX_TEXT:
        text, warnings = text[:MAX_TEXT], ["message_truncated"]
    message = _store(account, row, token, params, text, blocks)
    extra = {"warning": ",".join(warnings), "response_metadata": {"warnings": warnings}} if warnings else {}
    return ok(channel=row.object_id, ts=message["ts"], message=message, **extra)


def _store(account, row, token: SandboxToken, params: dict, text: str, blocks: list | None) -> dict:
    ts = state.next_ts()
    message = {
        "type": "message",
        "text": text,
        "user": state.BOT_USER_ID,
        "bot_id": state.BOT_ID,
        "app_id": state.APP_ID,
        "team": account.key,
        "ts": ts,
        "bot_profile": {"id": state.BOT_ID, "app_id": state.APP_ID, "name": "ml-connector", "team_id": account.key},
    }
    if blocks:
        message["blocks"] = blocks
    for name in ("thread_ts", "username", "icon_emoji", "icon_url", "markdown_text"):
        if params.get(name):
            message[name] = params[name]
    SandboxObject.objects.create(
        provider=PROVIDER, account=account, kind="message", object_id=f"{row.object_id}:{ts}", data=message
    )
    return message


METHODS = {
    "oauth.v2.access": oauth_access,
    "auth.test": auth_test,
    "conversations.list": conversations_list,
    "conversations.join": conversations_join,
    "chat.postMessage": chat_post_message,
}


@csrf_exempt
def web_api(request, method: str):
    # Slack's limiter sits at its edge and sees when a request arrived, not how long this fake then
    # took to check tokens and arguments; pacing uses the arrival time (see pace_channel).
    request.META["sandbox.arrived"] = time.time()
    view = METHODS.get(method)
    if view is None:
        return json_response({"ok": False, "error": "unknown_method", "req_method": method}, 404)
    return view(request)
