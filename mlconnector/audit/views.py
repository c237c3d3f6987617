"""The audit browser: events filtered and paged, each event's timeline, and replay (one or in bulk).

Everything is read through the tenant scope: another tenant's event or delivery is a 404. Viewers
read everything in their tenant but change nothing (replay needs an admin: 403), and payloads are
shown to admins of the event's tenant only.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from mlconnector.audit import outcomes
from mlconnector.audit.filters import EventFilter, page
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.redaction import redact_mapping
from mlconnector.connections.health import plain_error
from mlconnector.contract import registry
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import REPLAYABLE, replay_deliveries
from mlconnector.tenants.models import can_edit
from mlconnector.webhooks.models import InboundEvent

PAGE_SIZE = 50

# What each timeline entry is called on the page (the pipeline's words, for a person).
STEP_NAMES = {
    AuditRecord.Kind.WEBHOOK_ACCEPTED: "Received and verified",
    AuditRecord.Kind.EVENT_POLLED: "Found by the polling backstop",
    AuditRecord.Kind.EVENT_ENRICHED: "Enriched",
    AuditRecord.Kind.EVENT_DUPLICATE: "Unchanged since last time (nothing to send)",
    AuditRecord.Kind.EVENT_IGNORED: "Ignored",
    AuditRecord.Kind.EVENT_FANNED_OUT: "Sent to the connected apps",
    AuditRecord.Kind.EVENT_FAILED: "Processing failed",
    AuditRecord.Kind.HTTP: "Call",
    AuditRecord.Kind.DELIVERY: "Delivery attempt",
    AuditRecord.Kind.REPLAY: "Replay requested",
}


def _no_tenant(request):
    return render(request, "audit/no_tenant.html", status=200)


def _explain_call(r: AuditRecord, label: str) -> None:
    """A call's line in words: "Call to Slack … failed: the app cannot post in that channel", even
    when the provider answered HTTP 200 with the error inside (Slack's ok:false)."""
    r.step = f"Call to {label}"
    failed = r.outcome in (AuditRecord.Outcome.ERROR, AuditRecord.Outcome.REJECTED, AuditRecord.Outcome.RETRY)
    r.outcome_label = {"ok": "OK", "error": "Failed", "rejected": "Refused", "retry": "Failed, will retry"}.get(
        r.outcome, r.get_outcome_display()
    )
    r.error_in_ok_answer = failed and r.status_code is not None and r.status_code < 300
    r.words = plain_error(r.message, label) if failed and r.message else ""


def timeline(records) -> list[AuditRecord]:
    """Audit rows oldest first, each with `.step` in words (and, for a call, what it means)."""
    rows = list(records.defer("payload").select_related("actor").order_by("created_at", "id"))
    labels = {p: registry.get(p).label for p in registry.providers()}
    for r in rows:
        r.step = STEP_NAMES.get(r.kind, r.get_kind_display())
        if r.kind == AuditRecord.Kind.HTTP:
            _explain_call(r, labels.get(r.provider, r.provider or "the provider"))
    return rows


@login_required
def event_list(request):
    tenant = request.tenant
    if tenant is None:
        return _no_tenant(request)
    form = EventFilter(request.GET or None)
    if form.is_bound and not form.is_valid():
        rows, next_cursor = [], ""
    else:
        rows, next_cursor = page(form.events(tenant), request.GET.get("after", ""), PAGE_SIZE)
    outcomes.attach(rows)  # one query for the page's deliveries, and each event's badge from them
    return render(
        request,
        "audit/list.html",
        {
            "form": form,
            "events": rows,
            "next_query": form.querystring(after=next_cursor) if next_cursor else "",
            "first_query": form.querystring() if request.GET.get("after") else "",
            "filter_query": form.querystring(),
            "filtered": bool(form.values),
            "invalid": form.is_bound and not form.is_valid(),
            "has_events": bool(rows) or InboundEvent.objects.for_tenant(tenant).exists(),
        },
    )


@login_required
def event_detail(request, pk: int):
    event = get_object_or_404(InboundEvent.objects.for_user(request.user).select_related("connection", "tenant"), pk=pk)
    admin = can_edit(request.user, event.tenant)
    records = timeline(AuditRecord.objects.filter(event=event))
    deliveries = list(Delivery.objects.filter(event=event).select_related("connection").order_by("created_at", "id"))
    for d in deliveries:
        d.plain_error = plain_error(d.last_error, d.connection.get_provider_label()) if d.last_error else ""
        d.replayable = d.status in REPLAYABLE
        d.links = outcomes.links_of(d)
    event.outcome = outcomes.of_event(event, deliveries)
    links = {d.pk: d.links for d in deliveries}
    for r in records:
        if r.kind == AuditRecord.Kind.DELIVERY and r.remote_id and r.delivery_id in links:
            r.links = links[r.delivery_id]
    payload = ""
    if admin and event.payload is not None:
        payload = json.dumps(redact_mapping(event.payload), indent=2, sort_keys=True, default=str)
    return render(
        request,
        "audit/event.html",
        {
            "event": event,
            "records": records,
            "deliveries": deliveries,
            "payload": payload,
            "is_admin": admin,
            "back": request.GET.get("back", ""),
        },
    )


@login_required
@require_POST
def replay_delivery(request, pk: int):
    delivery = get_object_or_404(Delivery.objects.for_user(request.user), pk=pk)
    if not can_edit(request.user, delivery.tenant):
        raise PermissionDenied("Only admins of this tenant can replay deliveries.")
    result = replay_deliveries(Delivery.objects.filter(pk=delivery.pk), actor=request.user)
    if result.queued:
        messages.success(request, f"Replay queued: the {delivery.provider} delivery is being sent again.")
    else:
        messages.info(request, "Nothing to replay: it was already delivered, or it is running right now.")
    return redirect("audit-event", delivery.event_id)


@login_required
def replay_failed(request):
    """GET: how many failed deliveries match the filter; POST (admins): replay exactly those."""
    tenant = request.tenant
    if tenant is None:
        return _no_tenant(request)
    form = EventFilter(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return redirect(reverse("audit-events"))
    failed = form.failed_deliveries(tenant)
    admin = can_edit(request.user, tenant)
    if request.method == "POST":
        if not admin:
            raise PermissionDenied("Only admins of this tenant can replay deliveries.")
        result = replay_deliveries(failed, actor=request.user)
        messages.success(request, f"Replay of failed deliveries: {result.summary()}.")
        return redirect(reverse("audit-events") + (f"?{form.querystring()}" if form.values else ""))
    by_provider = list(failed.values("provider").annotate(n=Count("id")).order_by("-n"))
    return render(
        request,
        "audit/replay_confirm.html",
        {
            "form": form,
            "count": sum(row["n"] for row in by_provider),
            "by_provider": by_provider,
            "is_admin": admin,
            "filter_query": form.querystring(),
        },
    )
