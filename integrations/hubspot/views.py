"""HubSpot's pages: where Connect leads (sign-in or the token form), and the settings on its connection
page: real time or a digest, and "check invoice support now"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from integrations.hubspot import support
from integrations.hubspot.forms import ScheduleForm
from mlconnector.connections.views import _own_connection, _require_admin


@login_required
def connect(request):
    """Connect or Reconnect: HubSpot sign-in (OAuth) when the server has a HubSpot app, else the private
    app token form; a connection made with a private app token is reconnected with a token."""
    _require_admin(request)
    from integrations.hubspot.oauth import configured

    query, by_token = "", not configured()
    if request.GET.get("connection"):
        if not request.GET["connection"].isdigit():
            from django.http import Http404

            raise Http404("No such connection")
        conn = _hubspot(request, int(request.GET["connection"]))
        query = f"?connection={conn.pk}"
        by_token = by_token or (conn.secrets() or {}).get("kind") != "oauth"
    if by_token:
        return redirect(reverse("connection-token", args=["hubspot"]) + query)
    return redirect(reverse("connection-connect", args=["hubspot"]) + query)


def _hubspot(request, pk: int):
    conn = _own_connection(request, pk)
    if conn.provider != "hubspot":
        from django.http import Http404

        raise Http404("Not a HubSpot connection")
    _require_admin(request, conn.tenant)
    return conn


@login_required
@require_POST
def schedule(request, pk: int):
    conn = _hubspot(request, pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        saved = form.save(conn, actor=request.user)
        if saved["mode"] == "digest":
            hours = saved["every_hours"]
            messages.success(
                request,
                f"HubSpot now changes in one batch every {hours} hour{'s' if hours != 1 else ''}. "
                "What is already queued keeps its time.",
            )
        else:
            messages.success(request, "HubSpot now changes as FreshBooks does (within a few seconds).")
    else:
        messages.error(request, "Choose real time, or a digest every 1 to 24 hours. Nothing changed.")
    return redirect("connection-detail", pk=conn.pk)


@login_required
@require_POST
def check_invoices(request, pk: int):
    """Run the daily check now: the oldest waiting invoice tries HubSpot again; if it goes through, the rest follow."""
    conn = _hubspot(request, pk)
    support.check_now(conn)
    messages.success(
        request,
        "Checking HubSpot invoice support now. Waiting invoices go through by themselves if HubSpot takes them.",
    )
    return redirect("connection-detail", pk=conn.pk)
