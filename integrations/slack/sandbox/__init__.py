"""A faithful local fake of Slack (OAuth v2 and the Web API methods ml-connector uses) at /sandbox/slack/.

Routes, relative to /sandbox/slack/ (settings.SLACK_AUTH_URL is ".../oauth/v2/authorize",
SLACK_API_URL is ".../api"; slack_sdk works with base_url=".../api/"):
  ""                          the workspace page: channels, counts, tokens, controls (pages.py)
  channels/<channel id>/      a channel's messages as a person reads them in Slack
  actions/                    POST: revoke tokens, archive, inject a 429/500, clear messages, ...
  oauth/v2/authorize          the consent page (Allow / Cancel)
  api/oauth.v2.access         code and refresh-token grants (api.py)
  api/auth.test, api/conversations.list, api/conversations.join, api/chat.postMessage

Settings read on every request (getattr, so tests can override them):
  SANDBOX_SLACK_TOKEN_ROTATION (True)   rotating 12-hour access tokens + single-use refresh tokens
  SANDBOX_SLACK_CHANNEL_INTERVAL (1.0)  seconds between posts to one channel before HTTP 429
  SANDBOX_SLACK_CHANNEL_BURST (1)       posts a channel takes back to back; 1 means no burst at all
  SANDBOX_SLACK_LIST_PER_MINUTE (20)    conversations.list calls per minute per app and workspace

The Python API for tests and benchmarks is re-exported below (state in state.py).
"""

from __future__ import annotations

from integrations.slack.demo import seed_tenant
from integrations.slack.sandbox.state import (
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
]
