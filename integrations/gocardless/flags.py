"""What FreshBooks did with each collected payment, kept on the GoCardless side (GcPayment), and
finance told about every payment that needs a person: in the product (the Payments page and the
month-end report list it), in the audit trail, and by email to the tenant's admins.

FreshBooks announces its outcomes with `payments_in.payment_settled`; this module listens, so the
FreshBooks integration never imports GoCardless.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from integrations.freshbooks.payments_in import payment_settled
from integrations.gocardless.models import GcPayment, GcPayout
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record

log = logging.getLogger("integrations.gocardless")
PROVIDER = "gocardless"


@receiver(payment_settled)
def _settled(sender, tenant_id: int, reference: str, outcome: str, remote_id: str, reason: str = "", **kwargs):
    if sender != PROVIDER:
        return
    if outcome == "expense":
        GcPayout.objects.filter(tenant_id=tenant_id, payout_id=reference).update(expense_id=remote_id[:32])
        return
    row = GcPayment.objects.filter(tenant_id=tenant_id, payment_id=reference).select_related("connection").first()
    if row is None:
        return
    now = timezone.now()
    if outcome == "posted":
        GcPayment.objects.filter(pk=row.pk).update(
            posted_payment_id=remote_id[:32], posted_at=row.posted_at or now, reversed_at=None, flag="", flagged_at=None
        )
    elif outcome == "reversed":
        GcPayment.objects.filter(pk=row.pk).update(reversed_at=now if row.posted_payment_id or remote_id else None)
        if row.status not in ("cancelled",):
            notify(
                row,
                f"{reason or 'payment failed'}" + (f"; FreshBooks payment {remote_id} deleted" if remote_id else ""),
            )
    elif outcome == "flagged" and row.flag != reason[:300]:
        GcPayment.objects.filter(pk=row.pk).update(flag=reason[:300], flagged_at=now)
        notify(row, reason)


def notify(row: GcPayment, reason: str) -> None:
    """Once per payment and reason (callers only call on a change): audit row, admin email, and a
    Slack post when the tenant's Slack is connected and a channel is set on the settings page."""
    conn = row.connection
    words = f"GoCardless payment {row.payment_id}" + (f" (invoice #{row.invoice_number})" if row.invoice_number else "")
    record(
        AuditRecord.Kind.CONNECTION,
        connection=conn,
        outcome=AuditRecord.Outcome.WAITING,
        remote_id=row.payment_id,
        message=f"needs a person: {words}: {reason}",
    )
    from mlconnector.tenants.models import Membership

    emails = sorted(
        {
            m.user.email
            for m in Membership.objects.filter(tenant_id=row.tenant_id, role=Membership.Role.ADMIN).select_related(
                "user"
            )
            if m.user.email
        }
    )
    link = settings.MLCONNECTOR_PUBLIC_URL + reverse("gocardless-payments", args=[conn.pk])
    _tell_slack(
        conn, f":warning: {words} needs a look: {reason}. Nothing was posted to FreshBooks for it. <{link}|Payments>"
    )
    if not emails:
        return
    try:
        send_mail(
            f"[ml-connector] {words} needs a look",
            f"{words}: {reason}.\n\nNothing was posted to FreshBooks for it. See {link}\n",
            None,
            emails,
        )
    except Exception:  # noqa: BLE001 - a mail server down must not undo the flag
        log.exception("could not email the admins of tenant %s", row.tenant_id)


def _tell_slack(conn, text: str) -> None:
    """One post; a Slack that refuses or is down is recorded and never undoes the flag."""
    from mlconnector.connections.models import Connection
    from mlconnector.http import AuditContext

    channel = (conn.config or {}).get("alerts_channel") or ""
    slack = (
        Connection.objects.for_tenant(conn.tenant_id).filter(provider="slack", status=Connection.Status.ACTIVE).first()
    )
    if not channel or slack is None:
        return
    try:
        slack.integration.client(AuditContext(tenant=conn.tenant, connection=slack)).post_message(
            channel, {"text": text}
        )
    except Exception as exc:  # noqa: BLE001 - the notification is best effort; the flag stays
        record(
            AuditRecord.Kind.CONNECTION,
            connection=conn,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"could not tell Slack {channel} about a payment that needs a person: {exc}",
        )
