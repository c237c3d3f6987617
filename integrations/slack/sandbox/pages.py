"""The Slack sandbox's human pages: the OAuth consent page, the workspace page and a channel page.

The consent page stands in for slack.com/oauth/v2/authorize (Allow / Cancel). The workspace page
shows channels, message and 429 counts and the installed app's tokens (never more than a token's
last four characters), with buttons the demo and the browser tests press: revoke the tokens,
archive a channel, inject a 429 or a 500 on the next post, clear the messages.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from integrations.sandbox import faults, tokens
from integrations.sandbox.models import SandboxFault, SandboxToken
from integrations.slack.sandbox import render as render_
from integrations.slack.sandbox import state as state

PROVIDER = state.PROVIDER
_SCOPE = re.compile(r"^[a-z]+(?:[:.][a-z_]+)*$")
POST_MATCH = "/api/chat.postMessage"


# --- OAuth consent ---------------------------------------------------------------------------------


def _error_page(request, message: str) -> HttpResponse:
    return render(request, "sandbox/slack/authorize_error.html", {"message": message}, status=400)


def _split(value: str) -> list[str]:
    return [s for s in re.split(r"[,\s]+", value or "") if s]


def authorize(request) -> HttpResponse:
    """GET shows the consent page; POST (same URL and query string) is Allow or Cancel.

    An unknown client_id or an unregistered redirect_uri gets an error page, never a redirect.
    """
    state.ensure_workspace()
    q = request.GET
    app = tokens.app_for(PROVIDER, q.get("client_id"))
    if app is None:
        return _error_page(request, "Invalid client_id parameter: no app with this client id is installed here.")
    asked_uri = q.get("redirect_uri", "")
    redirect_uri = asked_uri or (app.redirect_uris[0] if app.redirect_uris else "")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _error_page(request, "redirect_uri must be an absolute http(s) URL.")
    if app.redirect_uris and redirect_uri not in app.redirect_uris:
        return _error_page(request, "redirect_uri did not match any configured URIs.")
    scopes, user_scopes = _split(q.get("scope", "")), _split(q.get("user_scope", ""))
    if not scopes and not user_scopes or any(not _SCOPE.match(s) for s in scopes + user_scopes):
        return _error_page(request, "Invalid permissions requested: ask for at least one valid scope.")
    teams = list(state.workspaces())
    chosen = request.POST.get("team") or q.get("team") or state.TEAM_ID
    team = next((t for t in teams if t.key == chosen), None)
    state_param = q.get("state", "")
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision == "cancel":
            return _back(redirect_uri, error="access_denied", state=state_param)
        if decision == "allow" and team is not None:
            # The code remembers the redirect_uri it was asked with: oauth.v2.access must repeat it.
            data = {"redirect_uri": asked_uri, "user_scope": ",".join(user_scopes)}
            code = tokens.issue(
                PROVIDER, "code", account=team, app=app, ttl=state.CODE_TTL, scopes=",".join(scopes), data=data
            )
            return _back(redirect_uri, code=code, state=state_param)
    context = {"app": app, "teams": teams, "team": team, "scopes": scopes, "user_scopes": user_scopes}
    context["redirect_host"] = parts.netloc
    return render(request, "sandbox/slack/authorize.html", context)


def _back(redirect_uri: str, **params: str) -> HttpResponseRedirect:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return HttpResponseRedirect(f"{redirect_uri}{joiner}{urlencode(params)}")


# --- workspace and channel pages ----------------------------------------------------------------


def _token_rows(account) -> list[dict]:
    now = timezone.now()
    rows = []
    for t in SandboxToken.objects.filter(provider=PROVIDER, account=account).exclude(kind="code").order_by("-id")[:20]:
        if t.revoked_at:
            status = "revoked"
        elif t.used_at:
            status = "used (refresh tokens work once)"
        elif t.expires_at and t.expires_at <= now:
            status = "expired"
        else:
            status = "live"
        hint = (t.data or {}).get("hint", "")
        rows.append({"token": t, "status": status, "hint": f"…{hint}" if hint else "", "scopes": state.token_scopes(t)})
    return rows


def home(request) -> HttpResponse:
    account = state.ensure_workspace(request.GET.get("team") or state.TEAM_ID)
    channels = []
    for row in state.channel_rows(account):
        count = state.message_rows(account, row.object_id).count()
        channels.append({"data": row.data, "messages": count, "limited": state.count_of_429(account, row.object_id)})
    context = {
        "account": account,
        "channels": channels,
        "tokens": _token_rows(account),
        "pending_faults": SandboxFault.objects.filter(provider=PROVIDER, remaining__gt=0).count(),
        "rotation": state.rotation_enabled(),
        "interval": state.channel_interval(),
        "burst": state.channel_burst(),
    }
    return render(request, "sandbox/slack/home.html", context)


def channel(request, channel_id: str) -> HttpResponse:
    account = state.ensure_workspace(request.GET.get("team") or state.TEAM_ID)
    row = state.channel_rows(account).filter(object_id=channel_id).first()
    if row is None:
        raise Http404("No such sandbox Slack channel.")
    shown = [render_.message(m.data) for m in state.message_rows(account, row.object_id)]
    context = {
        "account": account,
        "channel": row.data,
        # Not "messages": that name is the messages framework's, which base.html shows as the flash.
        "posted": shown,
        "limited": state.count_of_429(account, row.object_id),
    }
    return render(request, "sandbox/slack/channel.html", context)


# --- controls ---------------------------------------------------------------------------------------


def _revoke(account, channel_id) -> str:
    return f"Revoked {state.revoke_tokens(account.key)} token(s): ml-connector's next call gets token_revoked."


def _archive(account, channel_id, archived: bool = True) -> str:
    state.set_archived(channel_id, archived, account.key)
    return f"Channel {channel_id} {'archived' if archived else 'unarchived'}."


def _member(account, channel_id, member: bool = True) -> str:
    state.set_member(channel_id, member, account.key)
    return f"The bot {'joined' if member else 'left'} {channel_id}."


def _inject(account, channel_id, status: int) -> str:
    error = "ratelimited" if status == 429 else "internal_error"
    headers = {"Retry-After": "1"} if status == 429 else {}
    faults.add(PROVIDER, match=POST_MATCH, status=status, body={"ok": False, "error": error}, headers=headers)
    return f"The next chat.postMessage will get HTTP {status}."


def _clear(account, channel_id) -> str:
    return f"Deleted {state.clear_messages(account.key)} message(s)."


def _active(account, channel_id, inactive: bool) -> str:
    state.set_inactive(inactive, account.key)
    return "Workspace deactivated: every call gets account_inactive." if inactive else "Workspace reactivated."


ACTIONS = {
    "revoke": _revoke,
    "archive": lambda a, c: _archive(a, c, True),
    "unarchive": lambda a, c: _archive(a, c, False),
    "invite": lambda a, c: _member(a, c, True),
    "remove": lambda a, c: _member(a, c, False),
    "inject-429": lambda a, c: _inject(a, c, 429),
    "inject-500": lambda a, c: _inject(a, c, 500),
    "clear": _clear,
    "deactivate": lambda a, c: _active(a, c, True),
    "reactivate": lambda a, c: _active(a, c, False),
}
NEEDS_CHANNEL = {"archive", "unarchive", "invite", "remove"}


@require_POST
def action(request) -> HttpResponse:
    account = state.ensure_workspace(request.POST.get("team") or state.TEAM_ID)
    name, channel_id = request.POST.get("action", ""), request.POST.get("channel", "")
    if name not in ACTIONS or (name in NEEDS_CHANNEL and state.find_channel(account, channel_id) is None):
        messages.error(request, "That sandbox action does not exist.")
        return redirect("sandbox-slack-home")
    messages.success(request, ACTIONS[name](account, channel_id))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("sandbox-slack-home")
    return HttpResponseRedirect(back)
