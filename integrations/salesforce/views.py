"""Connecting a Salesforce org (admins only), and a connection's settings (everyone in the tenant
reads them; admins change them). Another tenant's connection is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render

from integrations.salesforce import connect as connecting
from integrations.salesforce.forms import ConnectForm, SettingsForm
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext
from mlconnector.tenants.models import can_edit

ADMIN_ONLY = "Only an admin of this tenant can connect Salesforce or change its settings."


def _connection(request, pk) -> Connection:
    return get_object_or_404(Connection.objects.for_user(request.user).filter(provider="salesforce"), pk=pk)


@login_required
def connect(request):
    tenant = request.tenant
    reconnect = None
    if request.GET.get("connection"):
        reconnect = _connection(request, request.GET["connection"])
        tenant = reconnect.tenant
    if tenant is None or not can_edit(request.user, tenant):
        raise PermissionDenied(ADMIN_ONLY)
    initial = {"my_domain": reconnect.config.get("my_domain", "")} if reconnect else {}
    form = ConnectForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                conn = connecting.connect(
                    tenant,
                    my_domain=data["my_domain"],
                    key=data["consumer_key"],
                    secret=data["consumer_secret"],
                    actor=request.user,
                    reconnect=reconnect,
                )
            except connecting.ConnectRefused as exc:
                form.add_error(exc.field, exc.message)
                record(
                    AuditRecord.Kind.CONNECTION,
                    tenant=tenant,
                    connection=reconnect,
                    provider="salesforce",
                    actor=request.user,
                    outcome=AuditRecord.Outcome.ERROR,
                    message=f"Salesforce connection refused: {exc.message}",
                )
            else:
                missing = conn.config.get("missing_fields") or []
                note = (
                    " One field is still missing in the org: see below."
                    if len(missing) == 1
                    else (f" {len(missing)} fields are still missing in the org: see below." if missing else "")
                )
                messages.success(
                    request, f"Salesforce connected: {conn.name} (API v{conn.config['api_version']}).{note}"
                )
                return redirect("connection-detail", conn.pk)
        status = 400
    form.fields["consumer_secret"].widget.render_value = False
    return render(request, "salesforce/connect.html", {"form": form, "reconnect": reconnect}, status=status)


@login_required
def settings_page(request, pk: int):
    conn = _connection(request, pk)
    editable = can_edit(request.user, conn.tenant)
    if request.method == "POST" and not editable:
        raise PermissionDenied(ADMIN_ONLY)
    form = SettingsForm(request.POST or None, conn=conn, read_only=not editable)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            saved = form.save(conn, actor=request.user)
            if saved.problem:
                messages.warning(request, f"Saved, but the org's fields could not be re-read: {saved.problem}")
            messages.success(request, "Salesforce settings saved." if saved.changes else "Nothing changed.")
            return redirect("connection-detail", conn.pk)
        status = 400
    return render(
        request, "salesforce/settings.html", {"conn": conn, "form": form, "can_change": editable}, status=status
    )


@login_required
def accounts_page(request, pk: int):
    """Read-only: each synced client's Account in Salesforce, its open Opportunities and Orders, and
    the FreshBooks clients with no Account yet."""
    from integrations.salesforce.enrichment import read

    conn = _connection(request, pk)
    audit = AuditContext(tenant=conn.tenant, connection=conn, actor=request.user)
    return render(request, "salesforce/accounts.html", {"conn": conn, **read(conn, audit)})
