"""The Slack sandbox's state: the workspace, its channels and messages, tokens, pacing and 429 counts.

Everything lives in the database (integrations/sandbox/models.py) so the web and worker processes
agree. The workspace is a SandboxAccount (key = team id); channels and messages are SandboxObject
rows (kind "channel", object_id = channel id; kind "message", object_id = "<channel>:<ts>").
The functions at the bottom are the small Python API tests and benchmarks use (re-exported by
the package docstring). Wire facts: ../shared/vendors/monday-hubspot-slack.md §3.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import F

from integrations.sandbox import ratelimit, tokens
from integrations.sandbox.models import SandboxAccount, SandboxCounter, SandboxObject, SandboxToken

PROVIDER = "slack"
TEAM_ID = "T0SANDBOX1"
TEAM_NAME = "Sandbox Workspace"
TEAM_DOMAIN = "sandbox-workspace"
BOT_USER_ID = "U0SANDBOXBOT"
BOT_ID = "B0SANDBOXBOT"
APP_ID = "A0SANDBOXAPP"
INSTALLER_ID = "U0SANDBOXADM"  # the person who clicks Allow (authed_user.id)
ACCESS_TTL = 12 * 60 * 60  # rotating access tokens expire after 12 h (expires_in 43200)
CODE_TTL = 10 * 60  # Slack's authorization codes expire after ten minutes
CREATED = 1700000000  # a fixed creation time, so seeded channels look the same on every run

# (id, name, private, archived, bot is a member)
CHANNELS = (
    ("C0GENERAL", "general", False, False, True),
    ("C0ACCOUNTING", "accounting", False, False, True),
    ("C0EXECALERTS", "exec-alerts", False, False, False),
    ("C0ACCTTEAM", "accounting-team", False, False, False),
    ("C0RANDOM", "random", False, False, False),
    ("C0OLDFINANCE", "old-finance", False, True, False),
    ("C0BOARDPRIV", "board-private", True, False, False),
)
PURPOSES = {
    "general": "Company-wide announcements",
    "accounting": "Invoices, payments and bills",
    "exec-alerts": "Large payments and overdue invoices",
    "old-finance": "Archived: the finance channel before the reorganisation",
    "board-private": "Board members only",
}


# --- configuration (read on every call, so tests can change settings) --------------------------


def rotation_enabled() -> bool:
    return bool(getattr(settings, "SANDBOX_SLACK_TOKEN_ROTATION", True))


def channel_interval() -> float:
    return float(getattr(settings, "SANDBOX_SLACK_CHANNEL_INTERVAL", 1.0))


def channel_burst() -> int:
    """How many posts a channel takes back to back before pacing starts; 1 means no burst at all."""
    return max(1, int(getattr(settings, "SANDBOX_SLACK_CHANNEL_BURST", 1)))


def list_per_minute() -> int:
    return int(getattr(settings, "SANDBOX_SLACK_LIST_PER_MINUTE", 20))  # Tier 2: 20+ per minute


# --- workspace and channels ------------------------------------------------------------------------


def ensure_workspace(team_id: str = TEAM_ID, name: str = TEAM_NAME) -> SandboxAccount:
    """Idempotent: the OAuth app, the workspace and its seeded channels. Views call it lazily."""
    from mlconnector.connections.oauth import redirect_uri

    if settings.SLACK_CLIENT_ID and settings.SLACK_CLIENT_SECRET:
        app = tokens.app_for(PROVIDER, settings.SLACK_CLIENT_ID)
        if app is None or not tokens.authenticate_app(PROVIDER, settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET):
            app = tokens.ensure_app(PROVIDER, settings.SLACK_CLIENT_ID, settings.SLACK_CLIENT_SECRET)
        if redirect_uri(PROVIDER) not in app.redirect_uris:
            app.redirect_uris = [*app.redirect_uris, redirect_uri(PROVIDER)]
            app.save(update_fields=["redirect_uris"])
    domain = TEAM_DOMAIN if team_id == TEAM_ID else team_id.lower()
    account, _ = SandboxAccount.objects.get_or_create(
        provider=PROVIDER, key=team_id, defaults={"name": name, "data": {"domain": domain, "inactive": False}}
    )
    have = set(channel_rows(account).values_list("object_id", flat=True))
    for cid, cname, private, archived, member in CHANNELS:
        if cid not in have:
            data = {"id": cid, "name": cname, "is_private": private, "is_archived": archived, "is_member": member}
            data |= {"purpose": PURPOSES.get(cname, ""), "created": CREATED}
            SandboxObject.objects.get_or_create(
                provider=PROVIDER, account=account, kind="channel", object_id=cid, defaults={"data": data}
            )
    return account


def workspace(team_id: str | None = None) -> SandboxAccount:
    return ensure_workspace(team_id) if team_id else ensure_workspace()


def workspaces():
    return SandboxAccount.objects.filter(provider=PROVIDER).order_by("key")


def channel_rows(account: SandboxAccount):
    return SandboxObject.objects.filter(provider=PROVIDER, account=account, kind="channel").order_by("id")


def find_channel(account: SandboxAccount, ref: str | None) -> SandboxObject | None:
    """A channel by id ("C0ACCOUNTING") or name ("#accounting" or "accounting"), as Slack accepts both."""
    if not ref:
        return None
    ref = ref.strip()
    row = channel_rows(account).filter(object_id=ref).first()
    if row is not None:
        return row
    name = ref[1:] if ref.startswith("#") else ref
    return next((r for r in channel_rows(account) if r.data["name"] == name), None)


def channel_json(row: SandboxObject) -> dict:
    """The conversation object conversations.list returns (fields from the spec's examples)."""
    d = row.data
    return {
        "id": d["id"],
        "name": d["name"],
        "is_channel": not d["is_private"],
        "is_group": d["is_private"],
        "is_im": False,
        "is_mpim": False,
        "is_private": d["is_private"],
        "created": d.get("created", CREATED),
        "is_archived": d["is_archived"],
        "is_general": d["name"] == "general",
        "unlinked": 0,
        "name_normalized": d["name"],
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "pending_shared": [],
        "is_pending_ext_shared": False,
        "is_member": d["is_member"],
        "creator": INSTALLER_ID,
        "updated": int(row.updated_at.timestamp() * 1000),
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": d.get("purpose", ""), "creator": "", "last_set": 0},
        "previous_names": [],
        "num_members": 4 + int(d["is_member"]),
    }


def message_rows(account: SandboxAccount, channel: str | None = None):
    qs = SandboxObject.objects.filter(provider=PROVIDER, account=account, kind="message")
    if channel:
        qs = qs.filter(object_id__startswith=f"{channel}:")
    return qs.order_by("id")


# --- timestamps, pacing and counters ---------------------------------------------------------------


def next_ts() -> str:
    """A unique, increasing message ts ("1763712000.000100"), shared by every process.

    One conditional UPDATE on a counter holding microseconds since the epoch: the clock when it has
    moved on, otherwise the previous value plus one, so two posts in the same microsecond differ.
    """
    key = f"{PROVIDER}:ts"
    now = int(time.time() * 1_000_000)
    SandboxCounter.objects.get_or_create(key=key)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {ratelimit.TABLE} SET value = CASE WHEN value + 1 > %s THEN value + 1 ELSE %s END "  # noqa: S608
            "WHERE key = %s RETURNING value",
            [now, now, key],
        )
        micros = int(cur.fetchone()[0])
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass
class Pace:
    allowed: bool
    retry_after: int = 0  # whole seconds for the Retry-After header (ceil, at least 1)


def _retry_after(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def pace_channel(account: SandboxAccount, channel: str, arrived: float | None = None) -> Pace:
    """chat.postMessage's special limit: ~1 message per second per channel, with an optional burst.

    SANDBOX_SLACK_CHANNEL_BURST=1 (the default) is a plain minimum interval (ratelimit.interval).
    A burst of N is a GCRA: the counter holds the time the channel is next "due"; a post is allowed
    while that time is at most (N-1) intervals ahead, and pushes it one interval further.
    """
    key, seconds, burst = f"{PROVIDER}:pace:{account.key}:{channel}", channel_interval(), channel_burst()
    if seconds <= 0:
        return Pace(True)
    if burst == 1:
        decision = ratelimit.interval(key, seconds, now=arrived)
        return Pace(decision.allowed, 0 if decision.allowed else _retry_after(decision.retry_after))
    now = arrived or time.time()
    SandboxCounter.objects.get_or_create(key=key)
    slack = (burst - 1) * seconds
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {ratelimit.TABLE} SET window_start = CASE WHEN window_start > %s THEN window_start ELSE %s END + %s "  # noqa: S608, E501
            "WHERE key = %s AND window_start <= %s RETURNING window_start",
            [now, now, seconds, key, now + slack],
        )
        if cur.fetchone():
            return Pace(True)
        cur.execute(f"SELECT window_start FROM {ratelimit.TABLE} WHERE key = %s", [key])  # noqa: S608
        due = cur.fetchone()[0]
    return Pace(False, _retry_after(due - slack - now))


def pace_list(account: SandboxAccount, app_id: int | None) -> Pace:
    """conversations.list is Tier 2 (~20 per minute per app per workspace)."""
    decision = ratelimit.window(f"{PROVIDER}:list:{account.key}:{app_id}", list_per_minute(), 60)
    return Pace(decision.allowed, 0 if decision.allowed else _retry_after(decision.retry_after))


def _counter_key(account: SandboxAccount, channel: str) -> str:
    return f"{PROVIDER}:429:{account.key}:{channel}"


def count_429(account: SandboxAccount, channel: str) -> None:
    key = _counter_key(account, channel)
    SandboxCounter.objects.get_or_create(key=key)
    SandboxCounter.objects.filter(key=key).update(value=F("value") + 1)


def count_of_429(account: SandboxAccount, channel: str) -> int:
    counter = SandboxCounter.objects.filter(key=_counter_key(account, channel)).first()
    return int(counter.value) if counter else 0


# --- tokens ------------------------------------------------------------------------------------------


def issue_tokens(account: SandboxAccount, app, scopes: str) -> dict:
    """An oauth.v2.access success body: a rotating (expiring) or long-lived bot token."""
    body = {"ok": True}
    if rotation_enabled():
        access = tokens.issue(PROVIDER, "access", account=account, app=app, ttl=ACCESS_TTL, scopes=scopes)
        refresh = tokens.issue(PROVIDER, "refresh", account=account, app=app, scopes=scopes)
        access, refresh = _with_prefix(access, "xoxe.xoxb-1-"), _with_prefix(refresh, "xoxe-1-")
        body |= {"access_token": access, "expires_in": ACCESS_TTL, "refresh_token": refresh}
    else:
        access = _with_prefix(tokens.issue(PROVIDER, "access", account=account, app=app, scopes=scopes), "xoxb-")
        body |= {"access_token": access}
    return body | {
        "token_type": "bot",
        "scope": scopes,
        "bot_user_id": BOT_USER_ID,
        "app_id": APP_ID,
        "team": {"id": account.key, "name": account.name},
        "enterprise": None,
        "authed_user": {"id": INSTALLER_ID},
        "is_enterprise_install": False,
    }


def _with_prefix(raw: str, prefix: str) -> str:
    """Re-key a just-issued token under Slack's prefix (tokens.issue hashes what it is given)."""
    token = SandboxToken.objects.get(provider=PROVIDER, token_hash=tokens.hash_secret(raw))
    token.token_hash = tokens.hash_secret(prefix + raw)
    token.data = {"hint": raw[-4:]}
    token.save(update_fields=["token_hash", "data"])
    return prefix + raw


def lookup_access(raw: str | None) -> SandboxToken | None:
    """Any access token with this value, live or not: the API must tell revoked from expired from unknown."""
    if not raw:
        return None
    return (
        SandboxToken.objects.filter(provider=PROVIDER, kind="access", token_hash=tokens.hash_secret(raw))
        .select_related("account", "app")
        .first()
    )


def token_scopes(token: SandboxToken) -> list[str]:
    return [s for s in token.scopes.split(",") if s]


# --- the Python API for tests and benchmarks -------------------------------------------------------


def _channel(name_or_id: str, team_id: str = TEAM_ID) -> SandboxObject:
    row = find_channel(ensure_workspace(team_id), name_or_id)
    if row is None:
        raise LookupError(f"No sandbox Slack channel {name_or_id!r}.")
    return row


def channel_id(name: str, team_id: str = TEAM_ID) -> str:
    return _channel(name, team_id).object_id


def messages(name_or_id: str, team_id: str = TEAM_ID) -> list[dict]:
    """The channel's messages in posting order: each has ts, text, blocks (and the rest Slack stores)."""
    row = _channel(name_or_id, team_id)
    return [m.data for m in message_rows(row.account, row.object_id)]


def rate_limited_count(name_or_id: str, team_id: str = TEAM_ID) -> int:
    """How many HTTP 429s chat.postMessage served for this channel (paced or injected)."""
    row = _channel(name_or_id, team_id)
    return count_of_429(row.account, row.object_id)


def revoke_tokens(team_id: str = TEAM_ID) -> int:
    """Revoke every token (and pending code) of the workspace, as an admin removing the app does.

    Returns how many access and refresh tokens were live before.
    """
    account = ensure_workspace(team_id)
    live = SandboxToken.objects.filter(provider=PROVIDER, account=account, revoked_at__isnull=True)
    count = live.exclude(kind="code").count()
    tokens.revoke_account(PROVIDER, account)
    return count


def set_archived(name_or_id: str, archived: bool, team_id: str = TEAM_ID) -> None:
    row = _channel(name_or_id, team_id)
    row.data["is_archived"] = bool(archived)
    if archived:
        row.data["is_member"] = False  # archiving a channel removes its members, the bot included
    row.save(update_fields=["data", "updated_at"])


def set_member(name_or_id: str, member: bool, team_id: str = TEAM_ID) -> None:
    """Invite the bot to (or remove it from) a channel, as a person in the workspace would."""
    row = _channel(name_or_id, team_id)
    row.data["is_member"] = bool(member)
    row.save(update_fields=["data", "updated_at"])


def set_inactive(inactive: bool, team_id: str = TEAM_ID) -> None:
    """A deactivated workspace answers every API call with account_inactive."""
    account = ensure_workspace(team_id)
    account.data["inactive"] = bool(inactive)
    account.save(update_fields=["data"])


def clear_messages(team_id: str = TEAM_ID) -> int:
    return message_rows(ensure_workspace(team_id)).delete()[0]


def reset(team_id: str = TEAM_ID) -> None:
    """Messages, pacing and 429 counters gone, injected faults cleared; channels and tokens stay."""
    from integrations.sandbox import faults

    clear_messages(team_id)
    ratelimit.reset(f"{PROVIDER}:pace:")
    ratelimit.reset(f"{PROVIDER}:list:")
    ratelimit.reset(f"{PROVIDER}:429:")
    faults.clear(PROVIDER)


def spent_refresh_tokens(team_id: str = TEAM_ID) -> int:
    """How many refresh tokens have been used (each may be used once): a replayed one shows up as an error."""
    account = ensure_workspace(team_id)
    return SandboxToken.objects.filter(
        provider=PROVIDER, account=account, kind="refresh", used_at__isnull=False
    ).count()
