"""FreshBooks as a target: a payment collected elsewhere (GoCardless) recorded against its invoice.

The source's enrichment hands over a collected payment in one shape (event.payload):
  freshbooks_invoice_id  the invoice it pays (required)
  reference              the source's own payment id, e.g. GoCardless "PM123" (required)
  amount, currency       what was collected, as a decimal string and an ISO code
  date                   the day it was collected, YYYY-MM-DD in the books' calendar
  note                   optional words for the person reading the payment in FreshBooks

FreshBooks has no idempotency key on creates (vendors doc §1.5), so a payment is never posted twice
by three guards: the RecordLink of an earlier success, then FreshBooks' own payments of the invoice
searched for our note marker (a write whose response was lost), and only then the create. An invoice
already fully paid in FreshBooks gets nothing; more than is outstanding is capped at the outstanding
amount (FreshBooks would otherwise book the excess as a credit), and the audit trail says so.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings

from integrations.freshbooks.client import FreshBooksClient, money
from mlconnector.contract import SyncResult
from mlconnector.http import AuditContext, Rejected
from mlconnector.pipeline.models import RecordLink

REMOTE_TYPE = "payment"


def marker(source: str, reference: str) -> str:
    """Written into the payment's note; found again by a search when a response was lost."""
    return f"[ml-connector {source} {reference}]"


def record_payment(connection, account_id: str, event, delivery, audit: AuditContext) -> SyncResult:
    collected = _collected(event)
    source_type = f"{event.provider}.payment"
    link = RecordLink.objects.filter(
        connection=connection, source_type=source_type, source_id=collected["reference"], remote_type=REMOTE_TYPE
    ).first()
    if link is not None and not delivery.resend:
        return SyncResult(remote_id=link.remote_id, noop=True, message=f"already recorded as payment {link.remote_id}")

    client = FreshBooksClient(connection, audit=audit)
    tag = marker(event.provider, collected["reference"])
    invoice_id = collected["invoice_id"]
    for payment in client.find_payments(account_id, invoice_id):
        if tag in str(payment.get("note") or "") and payment.get("vis_state", 0) == 0:
            remote_id = str(payment.get("id") or payment.get("logid"))
            _link(connection, source_type, collected["reference"], remote_id)
            return SyncResult(remote_id=remote_id, noop=True, message=f"already in FreshBooks as payment {remote_id}")

    invoice = client.get_record(account_id, "invoice", invoice_id)
    number = invoice.get("invoice_number") or invoice_id
    currency = str(invoice.get("currency_code") or money(invoice.get("amount"))[1] or "")
    if collected["currency"] and currency and collected["currency"] != currency:
        raise Rejected(f"invoice #{number} is in {currency}, the payment in {collected['currency']}: not recorded")
    outstanding, _ = money(invoice.get("outstanding"))
    if outstanding is not None and outstanding <= 0:
        return SyncResult(
            noop=True, message=f"invoice #{number} is already paid in FreshBooks: {collected['amount']} not recorded"
        )
    amount = collected["amount"]
    capped = outstanding is not None and amount > outstanding
    if capped:
        amount = outstanding
    note = " ".join(p for p in (collected["note"], tag) if p)
    created = client.create_payment(
        account_id,
        invoice_id=invoice_id,
        amount=amount,
        day=collected["date"],
        payment_type=settings.FRESHBOOKS_COLLECTED_PAYMENT_TYPE,
        note=note,
    )
    remote_id = str(created.get("id") or created.get("logid"))
    _link(connection, source_type, collected["reference"], remote_id)
    message = f"recorded payment {remote_id} of {amount:.2f} {currency} on invoice #{number}"
    if capped:
        message += f" ({collected['amount'] - amount:.2f} more was collected than was outstanding; not recorded)"
    return SyncResult(remote_id=remote_id, message=message)


def _link(connection, source_type: str, reference: str, remote_id: str) -> None:
    RecordLink.objects.update_or_create(
        connection=connection,
        source_type=source_type,
        source_id=reference,
        remote_type=REMOTE_TYPE,
        defaults={"tenant_id": connection.tenant_id, "remote_id": remote_id},
    )


def _collected(event) -> dict:
    """The payload, checked: anything missing or malformed is a permanent error, named."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    problems = []
    invoice_id = str(payload.get("freshbooks_invoice_id") or "").strip()
    reference = str(payload.get("reference") or "").strip()
    if not invoice_id.isdigit():
        problems.append("no FreshBooks invoice id")
    if not reference:
        problems.append("no payment reference")
    try:
        amount = Decimal(str(payload.get("amount")))
        if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems.append(f"amount {payload.get('amount')!r} is not a positive amount in cents")
        amount = Decimal("0")
    try:
        day = date.fromisoformat(str(payload.get("date")))
    except ValueError:
        problems.append(f"date {payload.get('date')!r} is not YYYY-MM-DD")
        day = None
    if problems:
        raise Rejected(f"cannot record this payment in FreshBooks: {'; '.join(problems)}")
    return {
        "invoice_id": invoice_id,
        "reference": reference,
        "amount": amount,
        "currency": str(payload.get("currency") or "").upper(),
        "date": day,
        "note": str(payload.get("note") or "").strip()[:200],
    }
