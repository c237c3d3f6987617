"""FreshBooks as a target: a payment collected elsewhere (GoCardless) recorded against its invoice.

The source's enrichment hands over a collected payment in one shape (event.payload):
  freshbooks_invoice_id  the invoice it pays (required)
  reference              the source's own payment id, e.g. GoCardless "PM123" (required)
  amount, currency       what was collected, as a decimal string and an ISO code
  date                   the day it was collected, YYYY-MM-DD in the books' calendar
  note                   optional words for the person reading the payment in FreshBooks
  state                  "collected" (the default), "reversed" (failed, charged back, cancelled after
                         all: deletes the FreshBooks payment recorded for it) or "pending" (not
                         collected yet: nothing to record, and one recorded earlier is reversed)
  as_of                  when the source saw that state (ISO time): an older "collected" never
                         undoes a newer "reversed", whatever order the deliveries run in
  exact                  true: a payment that does not fit its invoice (no invoice, invoice deleted
                         or already paid, another currency, more than is outstanding) is never
                         posted, only flagged; false (the default) caps it at what is outstanding

FreshBooks has no idempotency key on creates (vendors doc §1.5), so a payment is never posted twice
by three guards: the RecordLink of an earlier success, then FreshBooks' own payments of the invoice
searched for our note marker (a write whose response was lost), and only then the create. An invoice
already fully paid in FreshBooks gets nothing; more than is outstanding is capped at the outstanding
amount (FreshBooks would otherwise book the excess as a credit), and the audit trail says so.

Each outcome is announced with the `payment_settled` signal (posted, flagged, reversed), so the
source can keep its own books (GoCardless's reconciliation) without FreshBooks knowing it.

A reversal and a recording of the same payment may run at once in two workers: each writes its own
fact first (the reversal marker, the payment link) and then reads the other's, so at least one of
them sees both and the payment ends reversed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone

from integrations.freshbooks.client import FreshBooksClient, money
from mlconnector.contract import SyncResult
from mlconnector.http import AuditContext, NotFound, Rejected
from mlconnector.pipeline.models import RecordLink

REMOTE_TYPE = "payment"
REVERSAL = "reversal"
EXPENSE = "expense"

# sender: the source provider; kwargs: tenant_id, reference, outcome ("posted", "flagged",
# "reversed", or "expense" for a payout's fees), remote_id (the FreshBooks payment), reason (words, for a flag).
payment_settled = Signal()


def marker(source: str, reference: str) -> str:
    """Written into the payment's note; found again by a search when a response was lost."""
    return f"[ml-connector {source} {reference}]"


def settle_payment(connection, account_id: str, event, delivery, audit: AuditContext) -> SyncResult:
    """Record or reverse, by the state the source saw last (not by which event brought it)."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    if payload.get("state") == "pending":
        recorded = RecordLink.objects.filter(
            connection=connection,
            source_type=f"{event.provider}.payment",
            source_id=str(payload.get("reference") or ""),
            remote_type=REMOTE_TYPE,
        ).exists()
        if not recorded:
            status = str(payload.get("status") or "pending").replace("_", " ")
            return SyncResult(
                nothing_to_send=True, message=f"payment {status}: nothing to record until it is collected"
            )
        return reverse_payment(connection, account_id, event, delivery, audit)
    if payload.get("state") == "reversed":
        return reverse_payment(connection, account_id, event, delivery, audit)
    return record_payment(connection, account_id, event, delivery, audit)


def record_payment(connection, account_id: str, event, delivery, audit: AuditContext) -> SyncResult:
    payload = event.payload if isinstance(event.payload, dict) else {}
    exact = bool(payload.get("exact"))
    try:
        collected = _collected(event)
    except Rejected as exc:
        if not exact or not str(payload.get("reference") or "").strip():
            raise
        return _flag(connection, event, str(payload["reference"]).strip(), exc.message)
    source_type = f"{event.provider}.payment"
    reference = collected["reference"]
    link = RecordLink.objects.filter(
        connection=connection, source_type=source_type, source_id=reference, remote_type=REMOTE_TYPE
    ).first()
    if link is not None and not delivery.resend:
        return SyncResult(remote_id=link.remote_id, noop=True, message=f"already recorded as payment {link.remote_id}")
    if _reversed_since(connection, source_type, reference, collected["as_of"]):
        return SyncResult(noop=True, message=f"{reference} was reversed after this: not recorded")

    client = FreshBooksClient(connection, audit=audit)
    tag = marker(event.provider, reference)
    invoice_id = collected["invoice_id"]
    for payment in client.find_payments(account_id, invoice_id):
        if tag in str(payment.get("note") or "") and payment.get("vis_state", 0) == 0:
            remote_id = str(payment.get("id") or payment.get("logid"))
            _link(connection, source_type, reference, remote_id, collected["as_of"])
            _announce(connection, event, reference, "posted", remote_id)
            return SyncResult(remote_id=remote_id, noop=True, message=f"already in FreshBooks as payment {remote_id}")

    try:
        invoice = client.get_record(account_id, "invoice", invoice_id)
    except NotFound:
        if not exact:
            raise
        return _flag(connection, event, reference, f"invoice {invoice_id} is not in FreshBooks")
    number = invoice.get("invoice_number") or invoice_id
    if exact and invoice.get("vis_state", 0) != 0:
        return _flag(connection, event, reference, f"invoice #{number} was deleted in FreshBooks")
    currency = str(invoice.get("currency_code") or money(invoice.get("amount"))[1] or "")
    if collected["currency"] and currency and collected["currency"] != currency:
        problem = f"invoice #{number} is in {currency}, the payment in {collected['currency']}"
        if exact:
            return _flag(connection, event, reference, problem)
        raise Rejected(f"{problem}: not recorded")
    outstanding, _ = money(invoice.get("outstanding"))
    if outstanding is not None and outstanding <= 0:
        if exact:
            return _flag(connection, event, reference, f"invoice #{number} is already paid in FreshBooks")
        return SyncResult(
            noop=True, message=f"invoice #{number} is already paid in FreshBooks: {collected['amount']} not recorded"
        )
    amount = collected["amount"]
    capped = outstanding is not None and amount > outstanding
    if capped and exact:
        return _flag(
            connection,
            event,
            reference,
            f"amount mismatch: {amount:.2f} {collected['currency'] or currency} collected, "
            f"{outstanding:.2f} outstanding on invoice #{number}",
        )
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
    _link(connection, source_type, reference, remote_id, collected["as_of"])
    if _reversed_since(connection, source_type, reference, collected["as_of"]):
        # A reversal arrived while this was being written: it may not have seen this payment.
        return reverse_payment(connection, account_id, event, delivery, audit)
    _announce(connection, event, reference, "posted", remote_id)
    message = f"recorded payment {remote_id} of {amount:.2f} {currency} on invoice #{number}"
    if capped:
        message += f" ({collected['amount'] - amount:.2f} more was collected than was outstanding; not recorded)"
    return SyncResult(remote_id=remote_id, message=message)


def reverse_payment(connection, account_id: str, event, delivery, audit: AuditContext) -> SyncResult:
    """The collection failed after all: delete the FreshBooks payment recorded for it, if any."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    reference = str(payload.get("reference") or "").strip()
    if not reference:
        raise Rejected("cannot reverse a payment without its reference")
    as_of = str(payload.get("as_of") or timezone.now().isoformat())
    status = str(payload.get("status") or "reversed").replace("_", " ")
    source_type = f"{event.provider}.payment"
    marker_row, made = RecordLink.objects.get_or_create(
        connection=connection,
        source_type=source_type,
        source_id=reference,
        remote_type=REVERSAL,
        defaults={"tenant_id": connection.tenant_id, "remote_id": reference, "data": {"as_of": as_of}},
    )
    if not made and str(marker_row.data.get("as_of") or "") < as_of:
        marker_row.data = {"as_of": as_of}
        marker_row.save(update_fields=["data", "updated_at"])
    link = RecordLink.objects.filter(
        connection=connection, source_type=source_type, source_id=reference, remote_type=REMOTE_TYPE
    ).first()
    client = FreshBooksClient(connection, audit=audit)
    invoice_id = str(payload.get("freshbooks_invoice_id") or "").strip()
    targets = []
    if link is not None and str(link.data.get("as_of") or "") <= as_of:
        targets.append(link.remote_id)
    if invoice_id.isdigit():  # a recording whose response was lost left no link
        tag = marker(event.provider, reference)
        targets += [
            str(p.get("id") or p.get("logid"))
            for p in client.find_payments(account_id, invoice_id)
            if tag in str(p.get("note") or "") and p.get("vis_state", 0) == 0
        ]
    if link is not None and link.remote_id not in targets and str(link.data.get("as_of") or "") > as_of:
        return SyncResult(noop=True, message=f"{reference} was collected again after it was {status}: kept")
    deleted = []
    for remote_id in dict.fromkeys(targets):
        try:
            record = client.get_record(account_id, "payment", remote_id)
        except NotFound:
            continue
        if record.get("vis_state", 0) == 0:
            client.delete_payment(account_id, remote_id)
        deleted.append(remote_id)
    if link is not None:
        link.delete()
    _announce(connection, event, reference, "reversed", ",".join(deleted), f"payment {status}")
    if not deleted:
        return SyncResult(noop=True, message=f"{reference} {status}: nothing had been recorded in FreshBooks")
    return SyncResult(
        remote_id=deleted[0], message=f"{reference} {status}: deleted FreshBooks payment {', '.join(deleted)}"
    )


def record_fees(connection, account_id: str, event, delivery, audit: AuditContext) -> SyncResult:
    """A payout's fees, recorded once as one expense (vendor and category from the payload), so the
    bank deposit (net) reconciles with the payments (gross)."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    reference = str(payload.get("reference") or "").strip()
    try:
        fees = Decimal(str(payload.get("fees")))
        day = date.fromisoformat(str(payload.get("date")))
    except (InvalidOperation, ValueError):
        raise Rejected(f"cannot record the fees of {reference or 'this payout'}: no amount or date") from None
    if not reference:
        raise Rejected("cannot record fees without the payout's reference")
    if fees <= 0:
        return SyncResult(nothing_to_send=True, message=f"payout {reference} carried no fees")
    source_type = f"{event.provider}.payout"
    link = RecordLink.objects.filter(
        connection=connection, source_type=source_type, source_id=reference, remote_type=EXPENSE
    ).first()
    if link is not None and not delivery.resend:
        return SyncResult(
            remote_id=link.remote_id, noop=True, message=f"fees already recorded as expense {link.remote_id}"
        )
    client = FreshBooksClient(connection, audit=audit)
    tag = marker(event.provider, reference)
    for expense in client.iter_records(account_id, "expense", search={"date_min": day, "date_max": day}):
        if tag in str(expense.get("notes") or "") and expense.get("vis_state", 0) == 0:
            remote_id = str(expense.get("id") or expense.get("expenseid"))
            _link(connection, source_type, reference, remote_id, "", remote_type=EXPENSE)
            _announce(connection, event, reference, "expense", remote_id)
            return SyncResult(
                remote_id=remote_id, noop=True, message=f"fees already in FreshBooks as expense {remote_id}"
            )
    wanted = str(payload.get("category") or "").strip()
    category = next(
        (
            c
            for c in client.iter_records(account_id, "category")
            if str(c.get("category") or "").strip().lower() == wanted.lower() and c.get("vis_state", 0) == 0
        ),
        None,
    )
    if category is None:
        raise Rejected(f"FreshBooks has no expense category named {wanted!r}: choose one on the GoCardless page")
    currency = str(payload.get("currency") or "").upper()
    created = client.create_expense(
        account_id,
        amount=fees,
        currency=currency,
        day=day,
        category_id=category.get("categoryid") or category.get("id"),
        vendor=str(payload.get("vendor") or event.provider),
        notes=" ".join(p for p in (str(payload.get("note") or "").strip()[:200], tag) if p),
    )
    remote_id = str(created.get("id") or created.get("expenseid"))
    _link(connection, source_type, reference, remote_id, "", remote_type=EXPENSE)
    _announce(connection, event, reference, "expense", remote_id)
    return SyncResult(remote_id=remote_id, message=f"recorded fees of {fees:.2f} {currency} as expense {remote_id}")


def _reversed_since(connection, source_type: str, reference: str, as_of: str) -> bool:
    row = RecordLink.objects.filter(
        connection=connection, source_type=source_type, source_id=reference, remote_type=REVERSAL
    ).first()
    return row is not None and str(row.data.get("as_of") or "") >= as_of


def _flag(connection, event, reference: str, reason: str) -> SyncResult:
    """Not posted, on purpose: the source flags it for reconciliation and tells finance."""
    _announce(connection, event, reference, "flagged", "", reason)
    return SyncResult(noop=True, message=f"not recorded, flagged for reconciliation: {reason}")


def _announce(connection, event, reference: str, outcome: str, remote_id: str, reason: str = "") -> None:
    payment_settled.send(
        sender=event.provider,
        tenant_id=connection.tenant_id,
        reference=reference,
        outcome=outcome,
        remote_id=remote_id,
        reason=reason,
    )


def _link(connection, source_type: str, reference: str, remote_id: str, as_of: str, remote_type=REMOTE_TYPE) -> None:
    RecordLink.objects.update_or_create(
        connection=connection,
        source_type=source_type,
        source_id=reference,
        remote_type=remote_type,
        defaults={"tenant_id": connection.tenant_id, "remote_id": remote_id, "data": {"as_of": as_of}},
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
        "as_of": str(payload.get("as_of") or ""),
    }
