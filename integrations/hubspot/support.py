"""Whether HubSpot takes invoices from this connection, as the connection page and the REST API show
it, and "check invoice support now" (the daily check, run at once) for both."""

from __future__ import annotations

from django.utils import timezone

from integrations.hubspot.sync import held_invoices
from mlconnector.pipeline.models import ConnectionJob

DAILY = "daily"  # the job that re-checks invoice support (HubSpot.jobs)


def state(conn) -> dict:
    """What a script needs to know: available or not and why, how many invoices wait, the last and next check."""
    invoices = (conn.config or {}).get("invoices") or {}
    available = invoices.get("available", True) is not False
    job = ConnectionJob.objects.filter(connection=conn, name=DAILY).first()
    last = None
    if job is not None and job.last_finished_at is not None:
        last = {"at": job.last_finished_at, "ok": job.last_ok, "message": job.last_message or job.last_error}
    return {
        "available": available,
        "reason": "" if available else invoices.get("reason", ""),
        "since": None if available else invoices.get("since"),
        "held": len(held_invoices(conn)),
        "probe": invoices.get("probe"),
        "last_check": last,
        "next_check_at": job.next_attempt_at if job is not None else None,
    }


def check_now(conn) -> bool:
    """Run the daily check now: the oldest waiting invoice tries HubSpot again; if it goes through, the
    rest follow. False when the connection has no daily check (it is not connected)."""
    return bool(
        ConnectionJob.objects.filter(connection=conn, name=DAILY).update(
            next_attempt_at=timezone.now(), dispatched_at=None
        )
    )
