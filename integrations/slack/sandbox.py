"""A faithful local fake of Slack (OAuth v2 and the Web API methods ml-connector uses) at /sandbox/slack/.

Routes, relative to /sandbox/slack/ (settings.SLACK_AUTH_URL is ".../oauth/v2/authorize",
SLACK_API_URL is ".../api"; slack_sdk works with base_url=".../api/"):
  ""                          the workspace page: channels, counts, tokens, controls (sandbox_pages.py)
  channels/<channel id>/      a channel's messages as a person reads them in Slack
  actions/                    POST: revoke tokens, archive, inject a 429/500, clear messages, ...
  oauth/v2/authorize          the consent page (Allow / Cancel)
  api/oauth.v2.access         code and refresh-token grants (sandbox_api.py)
  api/auth.test, api/conversations.list, api/conversations.join, api/chat.postMessage

Settings read on every request (getattr, so tests can override them):
  SANDBOX_SLACK_TOKEN_ROTATION (True)   rotating 12-hour access tokens + single-use refresh tokens
  SANDBOX_SLACK_CHANNEL_INTERVAL (1.0)  seconds between posts to one channel before HTTP 429
  SANDBOX_SLACK_CHANNEL_BURST (1)       posts a channel takes back to back; 1 means no burst at all
  SANDBOX_SLACK_LIST_PER_MINUTE (20)    conversations.list calls per minute per app and workspace

The Python API for tests and benchmarks is re-exported below (state in sandbox_state.py).
"""

from __future__ import annotations

import time

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt

from integrations.sandbox.http import json_response
from integrations.slack import sandbox_api as api
from integrations.slack import sandbox_pages as pages
from integrations.slack.demo import seed_tenant
from integrations.slack.sandbox_state import (
    PROVIDER,
    TEAM_ID,
    channel_id,
    clear_messages,
    ensure_workspace,
    messages,
    rate_limited_count,
    reset,
    revoke_tokens,
    set_archived,
    set_inactive,
    set_member,
    spent_refresh_tokens,
)

METHODS = {
    "oauth.v2.access": api.oauth_access,
    "auth.test": api.auth_test,
    "conversations.list": api.conversations_list,
    "conversations.join": api.conversations_join,
    "chat.postMessage": api.chat_post_message,
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


def seed_demo() -> None:
    """`manage.py seed_demo` (and the browser tests) call this: the demo account and its OAuth app."""
    ensure_workspace()


__all__ = [
    "seed_demo",
    "seed_tenant",
    "PROVIDER",
    "TEAM_ID",
    "channel_id",
    "clear_messages",
    "ensure_workspace",
    "messages",
    "rate_limited_count",
    "reset",
    "revoke_tokens",
    "set_archived",
    "set_inactive",
    "set_member",
    "spent_refresh_tokens",
    "urlpatterns",
]

urlpatterns = [
    path("", pages.home, name="sandbox-slack-home"),
    path("channels/<str:channel_id>/", pages.channel, name="sandbox-slack-channel"),
    path("actions/", pages.action, name="sandbox-slack-action"),
    re_path(r"^oauth/v2/authorize/?$", pages.authorize, name="sandbox-slack-authorize"),
    re_path(r"^api/(?P<method>[A-Za-z0-9_.]+)/?$", web_api, name="sandbox-slack-api"),
]
