"""Slack OAuth v2: install the app into a workspace, and rotate its token when rotation is on.

Authorize on slack.com/oauth/v2/authorize with comma-separated bot scopes; exchange at
oauth.v2.access with HTTP Basic client credentials (Slack's preference). Errors there are HTTP 200
`{"ok": false, "error": ...}`, which authlib raises as OAuthError. With token rotation the answer
adds `expires_in` (12 h) and a single-use `refresh_token` (vendors doc §3.1).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect

from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.connections.oauth import OAuthSpec, expires_at, refresh_stored
from mlconnector.http import AuditContext, ProviderError
from mlconnector.pipeline.models import Delivery

PROVIDER = "slack"


def spec() -> OAuthSpec:
    return OAuthSpec(
        provider=PROVIDER,
        authorize_url=settings.SLACK_AUTH_URL,
        token_url=f"{settings.SLACK_API_URL}/oauth.v2.access",
        client_id=settings.SLACK_CLIENT_ID,
        client_secret=settings.SLACK_CLIENT_SECRET,
        scopes=list(settings.SLACK_SCOPES),
        scope_separator=",",
        token_auth_method="client_secret_basic",
    )


def credentials_from(token: dict) -> dict:
    return {k: token[k] for k in ("access_token", "refresh_token") if token.get(k)}


def refresh_tokens(conn: Connection, audit: AuditContext):
    """The network half of a serialised refresh (connections/tokens.py holds the lease)."""
    token, _ = refresh_stored(spec(), conn, audit, "Slack")
    return credentials_from(token), expires_at(token)


def complete_oauth(request, *, tenant, token: dict, reconnect: Connection | None):
    """Store the bot token for the workspace, then read its channels for the rule editor."""
    actor = request.user
    team = token.get("team") or {}
    team_id, team_name = str(team.get("id") or ""), str(team.get("name") or "Slack")
    if not token.get("access_token") or not team_id:
        messages.error(request, "Slack did not return a bot token for a workspace. Please connect again.")
        return redirect("home")
    config = {
        "team_id": team_id,
        "team_name": team_name,
        "bot_user_id": token.get("bot_user_id") or "",
        "app_id": token.get("app_id") or "",
        "scope": token.get("scope") or "",
        "token_rotation": bool(token.get("refresh_token")),
    }
    if reconnect is not None and reconnect.external_account_id and reconnect.external_account_id != team_id:
        messages.error(
            request,
            f"You installed the app in {team_name}, but this connection is for another workspace. "
            "Reconnect to the same workspace, or connect the new one separately.",
        )
        return redirect("home")
    conn = reconnect or (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER, external_account_id=team_id)
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    creds, expiry = credentials_from(token), expires_at(token)
    if conn is None:
        conn = services.create_connection(
            tenant=tenant,
            provider=PROVIDER,
            actor=actor,
            name=team_name,
            credentials=creds,
            config=config,
            external_account_id=team_id,
            token_expires_at=expiry,
        )
    else:
        services.store_credentials(conn, creds, expires_at=expiry, actor=actor, message="reconnected: new Slack token")
        services.update_config(conn, config, actor=actor, message=f"installed in {team_name}")
    from integrations.slack.channels import refresh_channels

    try:
        channels = refresh_channels(conn, actor=actor).channels
    except ProviderError as exc:
        services.note_error(conn, f"could not list channels: {exc}")
        channels = []
    # What waited for this (re)connection goes out now: say how much, and only what is true.
    waiting = Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING).count()
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"installed in {team_name}")
    messages.success(request, _banner(conn, team_name, len(channels), waiting, reconnected=reconnect is not None))
    return redirect("slack-rules")


def _banner(conn: Connection, team_name: str, channels: int, waiting: int, *, reconnected: bool) -> str:
    from integrations.slack.models import RoutingRule

    rules = RoutingRule.objects.for_tenant(conn.tenant_id).filter(enabled=True).count()
    text = f"Slack {'reconnected' if reconnected else 'connected'}: {team_name}"
    if channels:
        text += f" ({channels} channel{'s' if channels != 1 else ''} available)"
    if rules:
        text += f". {rules} routing rule{'s are' if rules != 1 else ' is'} in place"
    else:
        text += ". Add routing rules to choose what goes where"
    if waiting:
        posts = f"{waiting} posts that waited are" if waiting != 1 else "1 post that waited is"
        text += f". {posts} being sent now"
    return text + "."
