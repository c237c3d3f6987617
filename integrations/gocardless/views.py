"""The GoCardless pages. Everyone in the tenant can look; only admins connect, change settings or
create a billing-request link. Another tenant's connection is a 404."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from integrations.gocardless import reconciliation
from integrations.gocardless.client import ENVIRONMENTS, GoCardlessClient, environment_of
from integrations.gocardless.forms import ConnectForm, SettingsForm
from integrations.gocardless.models import GcPayment, GcPayout, MandateRequest
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, ProviderError, Unauthorized
from mlconnector.tenants.models import can_edit

PROVIDER = "gocardless"
ADMIN_ONLY = "Only an admin of this tenant can change its GoCardless connection."
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _connection(request, pk: int) -> Connection:
    return get_object_or_404(Connection.objects.for_user(request.user).filter(provider=PROVIDER), pk=pk)


def webhook_url(conn: Connection) -> str:
    return f"{settings.MLCONNECTOR_PUBLIC_URL}/hooks/{PROVIDER}/{conn.endpoint_key}/"


class WrongEnvironment(Unauthorized):
    pass


def check_token(token: str, environment: str, audit: AuditContext) -> dict:
    """The creditor the token reads, in the chosen environment; a token of the other environment
    gets a sentence that says so (GoCardless itself only answers 401 there)."""
    other = "live" if environment == "sandbox" else "sandbox"
    if environment_of(token) == other:
        raise WrongEnvironment(
            f"This is a {other} token (it starts with “{other}_”), but you chose {environment.title()}. "
            f"Choose {other.title()}, or paste a {environment} token."
        )
    try:
        return GoCardlessClient(None, access_token=token, environment=environment, audit=audit).creditor()
    except Unauthorized:
        try:
            GoCardlessClient(None, access_token=token, environment=other, audit=audit).creditor()
        except ProviderError:
            raise Unauthorized(
                "GoCardless did not accept this token. Check that you copied all of it and that it was not revoked."
            ) from None
        raise WrongEnvironment(
            f"GoCardless's {other} environment accepts this token, not {environment}. Choose {other.title()}."
        ) from None


@login_required
def connect(request):
    tenant = request.tenant
    reconnect = None
    if request.GET.get("connection"):
        reconnect = get_object_or_404(
            Connection.objects.for_user(request.user).filter(provider=PROVIDER), pk=request.GET["connection"]
        )
        tenant = reconnect.tenant
    if tenant is None or not can_edit(request.user, tenant):
        raise PermissionDenied("Only an admin of this tenant can connect providers.")
    initial = {"environment": (reconnect.config or {}).get("environment", "sandbox")} if reconnect else None
    form = ConnectForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            env, token = form.cleaned_data["environment"], form.cleaned_data["token"]
            audit = AuditContext(tenant=tenant, connection=reconnect, actor=request.user)
            try:
                creditor = check_token(token, env, audit)
            except ProviderError as exc:
                form.add_error("token" if not isinstance(exc, WrongEnvironment) else "environment", exc.message)
                record(
                    AuditRecord.Kind.CONNECTION,
                    tenant=tenant,
                    connection=reconnect,
                    provider=PROVIDER,
                    actor=request.user,
                    outcome=AuditRecord.Outcome.ERROR,
                    message=f"token refused: {exc}",
                )
            else:
                other = other_collector(tenant, creditor, reconnect)
                if other is not None:
                    form.add_error("token", other)
                    return render(
                        request, "gocardless/connect.html", {"form": form, "reconnect": reconnect}, status=400
                    )
                conn = _store(tenant, reconnect, token, env, creditor, request.user)
                messages.success(
                    request,
                    f"GoCardless connected: {conn.name} ({env}). Next, paste this page's webhook URL into GoCardless "
                    "and its endpoint secret here.",
                )
                return redirect("gocardless-settings", conn.pk)
    oauth = bool(settings.GOCARDLESS_CLIENT_ID and settings.GOCARDLESS_CLIENT_SECRET)
    return render(
        request,
        "gocardless/connect.html",
        {
            "form": form,
            "reconnect": reconnect,
            "oauth_url": (
                reverse("connection-connect", args=[PROVIDER]) + (f"?connection={reconnect.pk}" if reconnect else "")
            )
            if oauth
            else "",
            "oauth_environment": settings.GOCARDLESS_OAUTH_ENVIRONMENT,
        },
        status=status,
    )


def other_collector(tenant, creditor: dict, reconnect) -> str | None:
    """One GoCardless creditor per tenant: two would each ask for a payment for every invoice."""
    other = (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER)
        .exclude(status=Connection.Status.DISCONNECTED)
        .exclude(external_account_id=creditor.get("id"))
        .exclude(pk=reconnect.pk if reconnect else None)
        .first()
    )
    if other is None:
        return None
    return (
        f"This tenant already collects through GoCardless creditor {other.name or other.external_account_id}: "
        "two would each charge every invoice. Disconnect that one first, or reconnect it with this token."
    )


def _store(tenant, reconnect, token: str, env: str, creditor: dict, actor) -> Connection:
    name = str(creditor.get("name") or creditor.get("id"))
    existing = reconnect or (
        Connection.objects.for_tenant(tenant)
        .filter(provider=PROVIDER, external_account_id=creditor["id"])
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    config = {"environment": env, "creditor_id": creditor["id"], "creditor_name": name}
    if existing is not None:
        creds = {**existing.secrets(), "access_token": token}
        conn = services.store_credentials(existing, creds, expires_at=None, actor=actor, message="new GoCardless token")
        services.update_config(
            conn, {**(conn.config or {}), **config}, actor=actor, message="GoCardless creditor confirmed"
        )
        Connection.objects.filter(pk=conn.pk).update(external_account_id=creditor["id"], name=name)
        conn.external_account_id, conn.name = creditor["id"], name
    else:
        conn = services.create_connection(
            tenant=tenant,
            provider=PROVIDER,
            actor=actor,
            name=name,
            credentials={"access_token": token},
            config={**config, "fees_category": settings.GOCARDLESS_FEES_CATEGORY},
            external_account_id=creditor["id"],
            token_expires_at=None,
        )
    services.set_status(conn, Connection.Status.ACTIVE, actor=actor, reason=f"connected to creditor {name} ({env})")
    return conn


@login_required
def settings_page(request, pk: int):
    conn = _connection(request, pk)
    can_change = can_edit(request.user, conn.tenant)
    if request.method == "POST" and not can_change:
        raise PermissionDenied(ADMIN_ONLY)
    form = SettingsForm(
        request.POST or None,
        initial={
            "fees_category": (conn.config or {}).get("fees_category") or settings.GOCARDLESS_FEES_CATEGORY,
            "alerts_channel": (conn.config or {}).get("alerts_channel", ""),
        },
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            secret = "webhook_secret" in form.save(conn, actor=request.user)
            messages.success(
                request, "Saved." + (" Webhooks from GoCardless are now checked with the new secret." if secret else "")
            )
            return redirect("gocardless-settings", conn.pk)
        status = 400
    form.fields["webhook_secret"].widget.render_value = False
    return render(
        request,
        "gocardless/settings.html",
        {
            "conn": conn,
            "form": form,
            "can_change": can_change,
            "webhook_url": webhook_url(conn),
            "has_secret": bool(conn.secrets().get("webhook_secret")),
            "environment": (conn.config or {}).get("environment", "sandbox"),
            "pages": conn.integration.pages(conn),
        },
        status=status,
    )


@login_required
def payments(request, pk: int):
    conn = _connection(request, pk)
    rows = GcPayment.objects.filter(connection=conn)
    flagged = [p for p in rows.exclude(flag="").order_by("-flagged_at", "-id")[:100]]
    recent = list(rows.order_by("-id")[:100])
    return render(
        request,
        "gocardless/payments.html",
        {
            "conn": conn,
            "pages": conn.integration.pages(conn),
            "flagged": flagged,
            "recent": recent,
            "payouts": list(GcPayout.objects.filter(connection=conn)[:20]),
        },
    )


@login_required
def mandates(request, pk: int):
    conn = _connection(request, pk)
    waiting = MandateRequest.objects.filter(
        connection=conn, status__in=[MandateRequest.Status.OPEN, MandateRequest.Status.LINK_SENT]
    )
    done = MandateRequest.objects.filter(connection=conn).exclude(pk__in=waiting.values("pk"))[:20]
    return render(
        request,
        "gocardless/mandates.html",
        {
            "conn": conn,
            "pages": conn.integration.pages(conn),
            "waiting": list(waiting),
            "done": list(done),
            "can_change": can_edit(request.user, conn.tenant),
        },
    )


@login_required
@require_POST
def mandate_link(request, pk: int, request_id: int):
    conn = _connection(request, pk)
    if not can_edit(request.user, conn.tenant):
        raise PermissionDenied("Only an admin of this tenant can ask a client for a mandate.")
    row = get_object_or_404(MandateRequest, connection=conn, pk=request_id, kind=MandateRequest.Kind.MANDATE)
    from integrations.gocardless.payments_out import billing_request_link

    back = settings.MLCONNECTOR_PUBLIC_URL + reverse("gocardless-mandates", args=[conn.pk])
    try:
        url = billing_request_link(row, AuditContext(tenant=conn.tenant, connection=conn, actor=request.user), back)
    except ProviderError as exc:
        messages.error(request, f"GoCardless could not make the link: {exc.message}")
    else:
        messages.success(
            request, f"Link for {row.client_name or row.email or 'the client'} ready: send it to them. {url}"
        )
    return redirect("gocardless-mandates", conn.pk)


def _month_and_currency(request, conn):
    months, currencies = reconciliation.months_and_currencies(conn)
    month = request.GET.get("month") or (months[0] if months else f"{timezone.localdate():%Y-%m}")
    currency = (request.GET.get("currency") or (currencies[0] if currencies else "GBP")).upper()
    if not _MONTH.match(month) or not re.match(r"^[A-Z]{3}$", currency):
        raise Http404("No such month or currency")
    return month, currency, months, currencies


@login_required
def report(request, pk: int):
    conn = _connection(request, pk)
    month, currency, months, currencies = _month_and_currency(request, conn)
    built = reconciliation.build(conn, month, currency)
    return render(
        request,
        "gocardless/report.html",
        {
            "conn": conn,
            "pages": conn.integration.pages(conn),
            "report": built,
            "months": months,
            "currencies": currencies,
            "month": month,
            "currency": currency,
        },
    )


@login_required
def report_csv(request, pk: int):
    conn = _connection(request, pk)
    month, currency, _, _ = _month_and_currency(request, conn)
    body = reconciliation.to_csv(reconciliation.build(conn, month, currency))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="gocardless-{conn.pk}-{month}-{currency}.csv"'
    return response


__all__ = ["ENVIRONMENTS", "connect", "mandate_link", "mandates", "payments", "report", "report_csv", "settings_page"]
