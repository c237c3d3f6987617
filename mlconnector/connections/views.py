"""Onboarding and connection health pages: connect (OAuth), choose an account, test, pause/resume."""

from __future__ import annotations

import secrets

from authlib.integrations.base_client.errors import OAuthError
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from mlconnector.audit import outcomes
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections import services
from mlconnector.connections.health import health, plain_error
from mlconnector.connections.models import Connection
from mlconnector.connections.oauth import authorization_url, exchange_code
from mlconnector.contract import UnknownProvider, registry
from mlconnector.http import AuditContext, ProviderError
from mlconnector.pipeline.models import Delivery
from mlconnector.tenants.middleware import switch_tenant
from mlconnector.tenants.models import Tenant, can_edit
from mlconnector.webhooks.models import InboundEvent


def _require_admin(request, tenant=None) -> None:
    tenant = tenant or request.tenant
    if tenant is None or not can_edit(request.user, tenant):
        raise PermissionDenied("Only an admin of this tenant can change its connections.")


def _integration(provider: str):
    try:
        return registry.get(provider)
    except UnknownProvider:
        raise Http404("No such provider") from None


def _own_connection(request, pk: int) -> Connection:
    # 404, not 403, for another tenant's connection: its existence is not ours to reveal.
    return get_object_or_404(Connection.objects.for_user(request.user), pk=pk)


def connect_url(integration, connection: Connection | None = None) -> str:
    """Where Connect (or Reconnect) starts: the OAuth flow, else the token form, else nowhere ("")."""
    query = f"?connection={connection.pk}" if connection is not None else ""
    if integration.oauth_module:
        return reverse("connection-connect", args=[integration.provider]) + query
    if integration.connect_view:
        return reverse(integration.connect_view) + query
    # The token form is another team's view; reverse it only if it exists.
    for kwargs in ({"args": [integration.provider]}, {"kwargs": {"provider": integration.provider}}):
        try:
            return reverse("connection-token", **kwargs) + query
        except NoReverseMatch:
            continue
    return ""


def token_url(integration) -> str:
    try:
        return reverse("connection-token", args=[integration.provider])
    except NoReverseMatch:
        return ""


PROVIDER_STATES = {
    Connection.Status.ACTIVE: "connected",
    Connection.Status.NEEDS_RECONNECT: "needs reconnect",
    Connection.Status.PAUSED: "paused",
    Connection.Status.PENDING: "setting up",
}


def _back(request, default: str = "home"):
    """Redirect to the page the action was pressed on (a safe, local `next`), else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect(default)


@login_required
def home(request):
    tenant = request.tenant
    providers, recent = [], []
    if tenant is not None:
        live = Connection.objects.for_tenant(tenant).exclude(status=Connection.Status.DISCONNECTED)
        by_provider: dict[str, list] = {}
        for conn in live:
            by_provider.setdefault(conn.provider, []).append({"conn": conn, "health": health(conn)})
        for cls in registry.all():
            items = by_provider.pop(cls.provider, [])
            if not items and not cls.listed:
                continue
            for item in items:
                item["reconnect_url"] = connect_url(cls, item["conn"])
                item["pages"] = cls.pages(item["conn"])
            state = PROVIDER_STATES.get(items[0]["conn"].status, "connected") if items else "not connected"
            providers.append(
                {
                    "provider": cls.provider,
                    "label": cls.label or cls.provider,
                    "state": state,
                    "connections": items,
                    "connect_url": connect_url(cls),
                    "uses_token": not cls.oauth_module,
                    # OAuth providers that also take an API token (Monday) offer both.
                    "token_url": token_url(cls) if cls.oauth_module and getattr(cls, "token_form", False) else "",
                }
            )
        recent = list(InboundEvent.objects.for_tenant(tenant).defer("raw_body", "payload", "headers")[:10])
        outcomes.attach(recent)
    return render(request, "connections/home.html", {"providers": providers, "recent": recent})


@login_required
def detail(request, pk: int):
    """One connection's health: what is wrong in plain words, what waits, recent deliveries, the fix."""
    conn = _own_connection(request, pk)
    integration = registry.get(conn.provider) if conn.provider in registry.providers() else None
    deliveries = list(
        Delivery.objects.filter(connection=conn)
        .select_related("event", "connection")
        .defer("event__raw_body", "event__payload", "event__headers")
        # Newest first by id (creation order): the connection index serves it without a sort.
        .order_by("-id")[:20]
    )
    for d in deliveries:
        d.links = outcomes.links_of(d)
    events = list(
        InboundEvent.objects.filter(connection=conn).defer("raw_body", "payload", "headers").order_by("-id")[:10]
    )
    outcomes.attach(events)
    # Setup and changes: status changes, credentials, webhook registration and its handshake.
    changes = (
        # Filtering on the tenant too lets the (tenant, kind, -created_at) index find these few rows
        # among a busy connection's thousands of call records.
        AuditRecord.objects.filter(
            tenant_id=conn.tenant_id,
            kind__in=[AuditRecord.Kind.CONNECTION, AuditRecord.Kind.HANDSHAKE],
            connection=conn,
        )
        .defer("payload")
        .select_related("actor")[:12]
    )
    return render(
        request,
        "connections/detail.html",
        {
            "conn": conn,
            "pages": integration.pages(conn) if integration is not None else [],
            "health": health(conn),
            "last_error_plain": plain_error(conn.last_error, conn.get_provider_label()),
            "deliveries": deliveries,
            "events": events,
            "changes": changes,
            "reconnect_url": connect_url(integration, conn) if integration else "",
            "can_edit_conn": can_edit(request.user, conn.tenant),
            "setup_template": integration.setup_template if integration else "",
            "jobs": _jobs(conn, integration),
            "backfill": _backfill(conn, integration),
        },
    )


def _jobs(conn: Connection, integration) -> list[dict]:
    """The connection's periodic jobs, each with what it last did and when it runs next."""
    if integration is None or not integration.jobs:
        return []
    rows = {j.name: j for j in conn.jobs.all()}
    return [
        {"row": rows[name], "label": spec.label or name, "minutes": rows[name].every_seconds // 60}
        for name, spec in integration.jobs.items()
        if name in rows
    ]


def _backfill(conn: Connection, integration) -> dict | None:
    """The target's latest backfill and its progress, or what would be copied by one."""
    if integration is None or not integration.backfill_types:
        return None
    from mlconnector.pipeline.backfill import progress

    latest = conn.backfills.select_related("source").first()
    return {
        "source_label": registry.get(integration.backfill_source).label
        if integration.backfill_source in registry.providers()
        else integration.backfill_source,
        "types": ", ".join(f"{t.replace('_', ' ')}s" for t in integration.backfill_types),
        "latest": latest,
        "progress": progress(latest) if latest else None,
    }


@login_required
@require_POST
def switch_tenant_view(request):
    tenant = get_object_or_404(Tenant.visible_to(request.user), pk=request.POST.get("tenant"))
    switch_tenant(request, tenant)
    messages.info(request, f"You are now working in {tenant.name}.")
    return redirect("home")


@login_required
def connect(request, provider: str):
    _require_admin(request)
    integration = _integration(provider)
    if not integration.oauth_module:
        raise Http404("This provider connects with a token form.")
    reconnect = None
    if request.GET.get("connection"):
        reconnect = _own_connection(request, int(request.GET["connection"]))
        _require_admin(request, reconnect.tenant)
    spec = integration.oauth_spec()
    if not spec.client_id or not spec.client_secret:
        name = provider.upper()
        messages.error(
            request,
            f"{integration.label} is not set up on this server yet: its OAuth app ({name}_CLIENT_ID and "
            f"{name}_CLIENT_SECRET) is missing. Ask whoever runs ml-connector to configure it.",
        )
        return redirect("home")
    state = secrets.token_urlsafe(32)
    request.session[f"oauth:{provider}"] = {
        "state": state,
        "tenant": request.tenant.pk,
        "reconnect": reconnect.pk if reconnect else None,
    }
    return redirect(authorization_url(integration.oauth_spec(), state))


@login_required
def oauth_callback(request, provider: str):
    integration = _integration(provider)
    pending = request.session.pop(f"oauth:{provider}", None)  # single use, whatever happens next
    state = request.GET.get("state", "")
    if not pending or not state or not secrets.compare_digest(pending["state"], state):
        messages.error(
            request,
            f"That {integration.label} sign-in could not be matched to one you started "
            "(it expired or was already used). Please connect again.",
        )
        return redirect("home")
    tenant = get_object_or_404(Tenant.visible_to(request.user), pk=pending["tenant"])
    _require_admin(request, tenant)
    if request.GET.get("error"):
        reason = request.GET.get("error_description") or request.GET["error"]
        declined = request.GET["error"] == "access_denied"
        record(
            AuditRecord.Kind.CONNECTION,
            tenant=tenant,
            provider=provider,
            actor=request.user,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"authorization {'declined' if declined else 'failed'}: {reason}",
        )
        messages.error(
            request,
            f"You declined access to {integration.label}; nothing was connected."
            if declined
            else f"{integration.label} reported an error: {reason}",
        )
        return redirect("home")
    code = request.GET.get("code")
    if not code:
        messages.error(request, f"{integration.label} sent no authorization code. Please connect again.")
        return redirect("home")
    reconnect = None
    if pending.get("reconnect"):
        reconnect = Connection.objects.for_tenant(tenant).filter(pk=pending["reconnect"]).first()
    audit = AuditContext(tenant=tenant, connection=reconnect, actor=request.user)
    try:
        token = exchange_code(integration.oauth_spec(), code, audit)
    except OAuthError as exc:
        messages.error(request, f"{integration.label} refused the authorization ({exc.error}). Please connect again.")
        return redirect("home")
    except (OSError, ValueError):
        messages.error(request, f"Could not reach {integration.label} to finish connecting. Please try again.")
        return redirect("home")
    try:
        return integration.complete_oauth(request, tenant=tenant, token=token, reconnect=reconnect)
    except ProviderError as exc:
        messages.error(request, f"Connected to {integration.label}, but could not read the account: {exc}")
        return redirect("home")


@login_required
def choose(request, pk: int):
    conn = _own_connection(request, pk)
    _require_admin(request, conn.tenant)
    choices = conn.config.get("choices") or []
    if not choices:
        return redirect("home")
    error = ""
    if request.method == "POST":
        try:
            registry.get(conn.provider).choose_account(conn, request.POST.get("choice", ""), actor=request.user)
        except ValueError as exc:
            error = str(exc)
        else:
            messages.success(request, f"{conn.get_provider_label()} connected.")
            return redirect("home")
    return render(
        request,
        "connections/choose.html",
        {"conn": conn, "choices": choices, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_POST
def test_connection(request, pk: int):
    conn = _own_connection(request, pk)
    ok, result = services.run_check(conn, actor=request.user)
    if ok:
        messages.success(request, f"Test passed. {result}")
    else:
        messages.error(request, f"Test failed: {result}")
    return _back(request)


@login_required
@require_POST
def change_status(request, pk: int):
    conn = _own_connection(request, pk)
    _require_admin(request, conn.tenant)
    action = request.POST.get("action", "")
    try:
        services.apply_action(conn, action, actor=request.user)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
        return _back(request)
    label = conn.get_provider_label()
    done = {
        "pause": f"{label} is paused: deliveries to it are held until you resume.",
        "resume": f"{label} resumed: everything held is being sent now.",
        "disconnect": f"{label} is disconnected: nothing more is sent to or read from it.",
    }[action]
    messages.success(request, done)
    if action == "disconnect":
        return redirect("home")
    return _back(request)
