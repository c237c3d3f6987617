"""A connection's own work, from its page: the backfill of a target, and the interval of each job."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from mlconnector.connections.views import _own_connection, _require_admin
from mlconnector.pipeline import backfill, jobs
from mlconnector.pipeline.models import Backfill, ConnectionJob


@login_required
@require_POST
def start_backfill(request, pk: int):
    conn = _own_connection(request, pk)
    _require_admin(request, conn.tenant)
    try:
        started = backfill.start(conn, actor=request.user)
    except backfill.BackfillRefused as exc:
        messages.error(request, f"Backfill not started: {exc}.")
    else:
        label = started.source.get_provider_label()
        messages.success(request, f"Backfill from {label} started. Progress shows below as it goes.")
    return redirect("connection-detail", pk=conn.pk)


@login_required
@require_POST
def cancel_backfill(request, pk: int, backfill_pk: int):
    conn = _own_connection(request, pk)
    _require_admin(request, conn.tenant)
    running = get_object_or_404(Backfill.objects.filter(target=conn), pk=backfill_pk)
    if backfill.cancel(running, actor=request.user):
        messages.success(request, "Backfill cancelled. What it had queued is still delivered.")
    else:
        messages.info(request, "That backfill had already finished.")
    return redirect("connection-detail", pk=conn.pk)


@login_required
@require_POST
def job_interval(request, pk: int, job_pk: int):
    conn = _own_connection(request, pk)
    _require_admin(request, conn.tenant)
    job = get_object_or_404(ConnectionJob.objects.filter(connection=conn), pk=job_pk)
    raw = (request.POST.get("minutes") or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 7 * 24 * 60:
        messages.error(request, "Enter a whole number of minutes between 1 and 10080 (a week). Nothing changed.")
        return redirect("connection-detail", pk=conn.pk)
    jobs.set_interval(job, int(raw) * 60, actor=request.user)
    messages.success(request, f"{job_label(job)} now runs every {int(raw)} minute{'s' if int(raw) != 1 else ''}.")
    return redirect("connection-detail", pk=conn.pk)


def job_label(job: ConnectionJob) -> str:
    from mlconnector.contract import UnknownProvider, registry

    try:
        spec = registry.get(job.connection.provider).jobs.get(job.name)
    except UnknownProvider:
        spec = None
    return (spec.label if spec and spec.label else job.name).capitalize()
