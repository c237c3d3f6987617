"""The Slack Web API client, on the shared ApiClient.

Wire facts (../shared/vendors/monday-hubspot-slack.md §3): nearly every failure is HTTP 200 with
`{"ok": false, "error": "<code>"}`; only rate limiting is HTTP 429 with Retry-After. Tokens go in
`Authorization: Bearer`; with token rotation, access tokens last 12 h and the refresh token is
single-use (refresh is serialised per connection in connections/tokens.py).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from mlconnector.http import (
    RateLimited,
    Rejected,
    TokenClient,
    Unauthorized,
    Unavailable,
    default_classify,
    parse_retry_after,
)

# A new token cannot help: the person must reconnect (and the deliveries wait for them).
RECONNECT = {
    "invalid_auth": "Slack no longer accepts ml-connector's token",
    "token_revoked": "the Slack token was revoked (the app was removed or access withdrawn)",
    "account_inactive": "the Slack workspace or bot user is deactivated",
    "not_authed": "no Slack token was sent",
    "missing_scope": "the Slack app lacks a permission it needs; reconnect to grant it",
    "no_permission": "the Slack token has no permission for this",
    "team_access_not_granted": "the Slack token is not allowed in this workspace",
    "ekm_access_denied": "the workspace's key management denied access",
}
# This post cannot succeed as it stands; other posts and later events are unaffected.
PERMANENT = {
    "channel_not_found": "the channel does not exist, or is private and the app is not in it",
    "not_in_channel": "the app is not a member of the channel; invite it, or grant chat:write.public",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message is too long",
    "msg_blocks_too_long": "the message blocks are too long",
    "invalid_blocks": "Slack refused the message layout",
    "invalid_blocks_format": "Slack refused the message layout",
    "no_text": "the message has no text",
    "invalid_arguments": "Slack refused the request's arguments",
    "restricted_action": "the workspace does not allow posting to this channel",
    "restricted_action_read_only_channel": "the channel is read-only",
    "team_not_found": "the workspace was not found",
    "invalid_cursor": "the listing cursor is no longer valid",
    "invalid_limit": "the listing limit is not allowed",
}
TRANSIENT = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# Slack always sends Retry-After with a 429; if it ever doesn't, wait this long.
DEFAULT_RETRY_AFTER = 5.0


class SlackClient(TokenClient):
    provider = "slack"
    token_label = "Slack"
    # Reads are safe to repeat; a chat.postMessage is not (Slack has no idempotency key).
    idempotent_methods = frozenset({"GET"})

    def __init__(self, connection=None, **kwargs):
        super().__init__(connection, **kwargs)
        self._paced = False

    @property
    def base_url(self) -> str:
        return settings.SLACK_API_URL

    def refresh_tokens(self, conn, audit):
        from integrations.slack.oauth import refresh_tokens

        return refresh_tokens(conn, audit)

    # --- errors -------------------------------------------------------------------------------
    def classify(self, response, data) -> None:
        status = response.status_code
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            raise RateLimited(
                "Slack rate limit",
                status=429,
                code="ratelimited",
                retry_after=DEFAULT_RETRY_AFTER if wait is None else wait,
            )
        if status != 200:
            default_classify(response, _error_code(data))
        if not isinstance(data, dict) or "ok" not in data:
            raise Unavailable("Slack sent a response that is not a Web API envelope", status=status)
        if data["ok"] is True:
            return
        classify_error(_error_code(data), data, response.headers.get("Retry-After"))

    def rate_limit_key(self, method: str, path: str) -> str | None:
        if self._paced:
            return None  # posting/pace() owns the channel's schedule, 429s included
        conn_id = getattr(self.connection, "pk", None) or "app"
        return f"slack:{conn_id}:{path.strip('/')}"

    def remote_id(self, response, data) -> str:
        return str((data or {}).get("ts") or "") if isinstance(data, dict) else ""

    # --- methods ------------------------------------------------------------------------------
    def call(self, method: str, *, params: dict | None = None, body: dict | None = None, message: str = "") -> dict:
        """One Web API method: GET with query parameters, or POST with a JSON body."""
        if body is None:
            return self.request("GET", method, params=params, audit_message=message or method)[1]
        return self.request(
            "POST",
            method,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            audit_message=message or method,
        )[1]

    def auth_test(self) -> dict:
        return self.call("auth.test", params={})

    def channels(self, *, page_size: int = 200, max_pages: int = 50) -> list[dict[str, Any]]:
        """Every channel the picker may offer: public ones, and private ones the app is in."""
        out: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(max_pages):
            params = {"types": "public_channel,private_channel", "exclude_archived": "true", "limit": page_size}
            if cursor:
                params["cursor"] = cursor
            data = self.call("conversations.list", params=params)
            out.extend(data.get("channels") or [])
            # The end of the list is an empty string, not a missing key (vendors doc §3.5).
            cursor = ((data.get("response_metadata") or {}).get("next_cursor")) or ""
            if not cursor:
                break
        return out

    def post_message(self, channel: str, message: dict, *, paced: bool = False) -> dict:
        """chat.postMessage. `paced`: the caller keeps the channel's schedule (posting.pace), so the
        shared per-method block is not used; a 429 is raised for the caller to reschedule."""
        self._paced = paced
        try:
            return self.call("chat.postMessage", body={"channel": channel, **message}, message=f"post to {channel}")
        finally:
            self._paced = False


def classify_error(code: str, data: dict | None = None, retry_after_header: str | None = None) -> None:
    """Turn an `ok: false` error code into the typed hierarchy (always raises)."""
    data = data or {}
    if code in RECONNECT:
        detail = RECONNECT[code]
        if code == "missing_scope" and data.get("needed"):
            detail += f" (needs {data['needed']}; granted {data.get('provided') or 'none'})"
        raise Unauthorized(f"Slack: {detail}", code=code, needs_reconnect=True)
    if code == "token_expired":
        # Refreshable: the client refreshes once and retries (token rotation).
        raise Unauthorized("Slack: the access token expired", code=code)
    if code in ("ratelimited", "rate_limited", "message_limit_exceeded"):
        wait = parse_retry_after(retry_after_header)
        raise RateLimited(f"Slack: too many messages ({code})", code=code, retry_after=wait or 60.0)
    if code in TRANSIENT:
        raise Unavailable(f"Slack had a temporary problem ({code})", code=code)
    detail = PERMANENT.get(code, "Slack refused the request")
    if code == "invalid_arguments":
        problems = (data.get("response_metadata") or {}).get("messages") or []
        if problems:
            detail += ": " + "; ".join(str(p) for p in problems[:3])
    raise Rejected(f"Slack: {detail}", code=code or "unknown_error")


def _error_code(data: Any) -> str:
    return str(data.get("error") or "") if isinstance(data, dict) else ""
