"""What a GoCardless event means once its resource is read: every event fetches the resource as it
is now, so events handled out of order (a `confirmed` after `paid_out` or `charged_back`) act on
the latest state, and the pipeline's version check makes a state already handled a no-op.

- payments: kept in GcPayment; the collected-payment shape FreshBooks' payments_in.py documents
  (state "collected" for confirmed / paid out, "reversed" for every other state), matched to its
  invoice through the metadata ml-connector wrote (`fb_account`, `fb_invoice`).
- payouts: kept in GcPayout with their payout items (each payment's payout and fees); FreshBooks
  records the fees once as an expense.
- mandates and fulfilled billing requests: an invoice waiting for this client's mandate goes on.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from integrations.gocardless.models import COLLECTED, PENDING, GcPayment, GcPayout
from integrations.gocardless.money import from_minor
from mlconnector.connections.models import Connection
from mlconnector.contract import Enriched

VENDOR = "GoCardless"


def freshbooks_account(connection) -> str:
    """The account of the tenant's FreshBooks connection (the books payments are posted to)."""
    fb = (
        Connection.objects.for_tenant(connection.tenant_id)
        .filter(provider="freshbooks")
        .exclude(status=Connection.Status.DISCONNECTED)
        .first()
    )
    return str((fb.config or {}).get("account_id") or "") if fb else ""


def enrich_payment(connection, client, payment_id: str) -> dict:
    payment = client.fetch("payments", payment_id)
    status = str(payment.get("status") or "")
    currency = str(payment.get("currency") or "")
    amount = from_minor(payment.get("amount"))
    links = payment.get("links") or {}
    meta = payment.get("metadata") or {}
    account = freshbooks_account(connection)
    invoice = str(meta.get("fb_invoice") or "")
    if meta.get("fb_account") and account and str(meta["fb_account"]) != account:
        invoice = ""  # asked for from another FreshBooks business: it matches none of these invoices
    number, who = "", ""
    if not invoice and links.get("subscription"):
        from integrations.gocardless.payments_out import subscription_invoice

        matched = subscription_invoice(connection, str(links["subscription"]), str(payment.get("charge_date") or ""))
        if matched is not None:  # a retainer payment an invoice was linked to
            invoice = matched.source_id
            number, who = str(matched.data.get("invoice_number") or ""), str(matched.data.get("counterparty") or "")
    row, _ = GcPayment.objects.get_or_create(
        connection=connection,
        payment_id=payment["id"],
        defaults={
            "tenant_id": connection.tenant_id,
            "freshbooks_account": str(meta.get("fb_account") or ""),
            "invoice_id": invoice,
            "invoice_number": number,
            "counterparty": who,
            "amount": amount,
            "currency": currency,
            "status": status,
        },
    )
    row.status, row.amount, row.currency = status, amount, currency
    row.charge_date = _day(payment.get("charge_date"))
    row.payout_id = str(links.get("payout") or row.payout_id or "")
    fields = ["status", "amount", "currency", "charge_date", "payout_id", "updated_at"]
    if status in COLLECTED and not row.invoice_id and not row.flag:
        row.flag, row.flagged_at = "names no FreshBooks invoice (not requested by ml-connector)", timezone.now()
        fields += ["flag", "flagged_at"]
    row.save(update_fields=fields)
    return {
        "id": payment["id"],
        "status": status,
        "state": "collected" if status in COLLECTED else "pending" if status in PENDING else "reversed",
        "reference": payment["id"],
        "freshbooks_invoice_id": invoice,
        "amount": f"{amount:.2f}",
        "currency": currency,
        "date": str(payment.get("charge_date") or timezone.localdate().isoformat()),
        "note": f"Collected by GoCardless direct debit ({payment['id']})",
        "payout": row.payout_id,
        "exact": True,
        "as_of": timezone.now().isoformat(),
    }


def enrich_payout(connection, client, payout_id: str) -> dict:
    payout = client.fetch("payouts", payout_id)
    currency = str(payout.get("currency") or "")
    fees = from_minor(payout.get("deducted_fees"))
    row, _ = GcPayout.objects.update_or_create(
        connection=connection,
        payout_id=payout["id"],
        defaults={
            "tenant_id": connection.tenant_id,
            "amount": from_minor(payout.get("amount")),
            "deducted_fees": fees,
            "currency": currency,
            "arrival_date": _day(payout.get("arrival_date")),
            "status": str(payout.get("status") or ""),
            "reference": str(payout.get("reference") or "")[:140],
        },
    )
    per_payment: dict[str, Decimal] = {}
    paid_out: list[str] = []
    for item in client.iterate("payout_items", {"payout": payout["id"]}):
        payment = str((item.get("links") or {}).get("payment") or "")
        if not payment:
            continue
        amount = Decimal(str(item.get("amount") or "0"))
        if item.get("type") == "payment_paid_out":
            paid_out.append(payment)
        elif item.get("type") in ("gocardless_fee", "app_fee", "surcharge_fee"):
            per_payment[payment] = per_payment.get(payment, Decimal(0)) - amount  # fees come negative
    for payment in set(paid_out) | set(per_payment):
        GcPayment.objects.filter(connection=connection, payment_id=payment).update(
            payout_id=payout["id"], fees=per_payment.get(payment, Decimal(0)), updated_at=timezone.now()
        )
    return {
        "id": payout["id"],
        "status": row.status,
        "reference": payout["id"],
        "bank_reference": row.reference,
        "amount": f"{row.amount:.2f}",
        "fees": f"{fees:.2f}",
        "currency": currency,
        "date": str(payout.get("arrival_date") or timezone.localdate().isoformat()),
        "category": (connection.config or {}).get("fees_category") or settings.GOCARDLESS_FEES_CATEGORY,
        "vendor": VENDOR,
        "note": f"GoCardless fees for payout {payout['id']} ({len(set(paid_out))} payments)",
        "payments": sorted(set(paid_out)),
    }


def enrich_mandate(connection, client, mandate_id: str) -> dict:
    from integrations.gocardless.payments_out import mandate_ready

    mandate = client.fetch("mandates", mandate_id)
    links = mandate.get("links") or {}
    record = {
        "id": mandate["id"],
        "status": mandate.get("status"),
        "scheme": mandate.get("scheme"),
        "customer": links.get("customer"),
        "next_possible_charge_date": mandate.get("next_possible_charge_date"),
    }
    if mandate.get("status") == "active" and links.get("customer"):
        record["resumed"] = mandate_ready(connection, client, str(links["customer"]))
    return record


def enrich_billing_request(connection, client, request_id: str) -> dict:
    from integrations.gocardless.payments_out import mandate_ready

    request = client.fetch("billing_requests", request_id)
    links = request.get("links") or {}
    record = {"id": request["id"], "status": request.get("status"), "customer": links.get("customer")}
    if request.get("status") == "fulfilled" and links.get("customer"):
        record["resumed"] = mandate_ready(connection, client, str(links["customer"]))
    return record


ENRICHERS = {
    "payments": enrich_payment,
    "payouts": enrich_payout,
    "mandates": enrich_mandate,
    "billing_requests": enrich_billing_request,
}


def describe(connection, record_type: str, record: dict) -> Enriched:
    """The version leaves out when we looked (`as_of`) and what was resumed: the same state read
    twice is the same version, so handling it again is a no-op."""
    own = {k: v for k, v in record.items() if k not in ("as_of", "resumed")}
    version = hashlib.sha256(json.dumps(own, sort_keys=True, default=str).encode()).hexdigest()
    number, who = "", ""
    if record_type == "payments":
        row = GcPayment.objects.filter(connection=connection, payment_id=record.get("id")).first()
        if row is not None:
            number, who = row.invoice_number or "", row.counterparty or ""
    amount = record.get("amount") if record_type in ("payments", "payouts") else None
    return Enriched(
        record_type=record_type,
        record=record,
        version=version,
        invoice_number=number,
        counterparty=who,
        amount=Decimal(str(amount)) if amount is not None else None,
        currency=str(record.get("currency") or ""),
    )


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
