"""FreshBooks invoice -> GoCardless payment: the one place ml-connector asks a bank to move money.

For an invoice that is sent and unpaid (read again from FreshBooks first, so a delivery that waited
or is replayed acts on the invoice as it is now): the client's email (FreshBooks invoices carry none, so the
client is read), the GoCardless customer with that email or with `metadata.freshbooks_client_id`,
an active mandate whose scheme collects in the invoice's currency, then one payment:
- `amount`: the outstanding amount in integer minor units, from Decimal;
- `charge_date`: the later of the due date and the mandate's `next_possible_charge_date`
  (an earlier one would be refused, trap 15);
- `metadata` (at most 3 keys, trap 19): `fb_account`, `fb_invoice`, `ml_tenant`;
- `Idempotency-Key`: `ml-connector:<tenant>:<account>:<invoice>:<attempt>`, where attempt counts
  the payments already asked for this invoice *and kept in our database*. A worker killed after
  GoCardless answered but before our commit runs again with the same key; GoCardless answers 409
  `idempotent_creation_conflict` and the payment it already made is used. Exactly one payment.
No customer or mandate: the delivery waits (no attempt used), the invoice is on the "needs a
mandate" list with a billing-request link to send the client, and it goes on by itself when a
mandate for that client becomes active (mandate_ready).
An invoice edited or deleted before the payment is submitted cancels it (and an edited amount is
asked for again, with the next attempt's key); once submitted, it is flagged instead.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import IntegrityError
from django.utils import timezone

from integrations.freshbooks.client import FreshBooksClient, money
from integrations.gocardless.client import GoCardlessClient
from integrations.gocardless.models import FAILED, GcPayment, MandateRequest
from integrations.gocardless.money import SCHEME_CURRENCIES, BadAmount, from_minor, to_minor
from mlconnector.contract import SyncResult
from mlconnector.http import AuditContext, NotFound, ProviderError, Rejected, Unavailable, Waiting
from mlconnector.pipeline.models import Delivery, RecordLink

CANCELLABLE = ("pending_customer_approval", "pending_submission")
SUBSCRIPTION_PAYMENT = "subscription_payment"
SUBSCRIPTION_WINDOW = timedelta(days=15)


def idempotency_key(tenant_id: int, account: str, invoice_id: str, attempt: int) -> str:
    return f"ml-connector:{tenant_id}:{account}:{invoice_id}:{attempt}"


def request_payment(connection, event, delivery, audit: AuditContext) -> SyncResult:
    invoice = event.payload if isinstance(event.payload, dict) else None
    invoice_id = str(event.object_id)
    account = str(event.account_id or (event.connection.config or {}).get("account_id") or "")
    client = GoCardlessClient(connection, audit=audit)
    existing = GcPayment.objects.filter(connection=connection, invoice_id=invoice_id).exclude(idempotency_key="")
    active = existing.exclude(status__in=FAILED).order_by("-id").first()

    if event.event_type != "invoice.delete" and invoice is not None:
        # The invoice as it is now, not as it was when the event was handled: a delivery that waited
        # for a mandate (or is replayed) must not charge an invoice paid, edited or deleted since.
        invoice = _current_invoice(event, account, invoice_id, client.audit)
    if event.event_type == "invoice.delete" or invoice is None or invoice.get("vis_state", 0) != 0:
        _close_request(connection, invoice_id, "the invoice was deleted in FreshBooks")
        return _withdraw(client, active, "the invoice was deleted in FreshBooks")
    number = str(invoice.get("invoice_number") or invoice_id)
    outstanding, code = money(invoice.get("outstanding"))
    currency = str(invoice.get("currency_code") or code or "").upper()
    if outstanding is None or outstanding <= 0:
        _close_request(connection, invoice_id, "the invoice is paid")
        if active is not None and active.status in CANCELLABLE and not active.posted_payment_id:
            return _withdraw(client, active, f"invoice #{number} was paid outside GoCardless")
        return SyncResult(nothing_to_send=True, message=f"invoice #{number} has nothing outstanding")
    if _is_draft(invoice):
        return SyncResult(nothing_to_send=True, message=f"invoice #{number} is a draft: asked for once it is sent")
    if active is not None:
        return _keep_or_adjust(connection, client, event, active, outstanding, currency, number, account, invoice)
    latest = existing.order_by("-id").first()
    if latest is not None and latest.status not in ("cancelled",):
        return SyncResult(
            noop=True,
            message=f"invoice #{number}: payment {latest.payment_id} {latest.status.replace('_', ' ')}; "
            "not asked for again automatically (retry it in GoCardless)",
        )
    return _create(connection, client, event, delivery, invoice, account, outstanding, currency, number)


def _create(connection, client, event, delivery, invoice, account, outstanding, currency, number) -> SyncResult:
    invoice_id = str(event.object_id)
    try:
        amount_minor = to_minor(outstanding, currency)
    except BadAmount as exc:
        raise Rejected(f"invoice #{number}: {exc}") from None
    fb_client_id = str(invoice.get("customerid") or "")
    person = _freshbooks_client(event, account, fb_client_id, client.audit)
    email = str(person.get("email") or "").strip()
    name = str(invoice.get("organization") or person.get("organization") or "").strip() or " ".join(
        p for p in (person.get("fname"), person.get("lname")) if p
    )
    wait = dict(
        connection=connection,
        delivery=delivery,
        invoice_id=invoice_id,
        number=number,
        fb_client_id=fb_client_id,
        name=name,
        email=email,
        amount=outstanding,
        currency=currency,
    )
    customer = find_customer(connection, client, fb_client_id, email)
    if customer is None:
        _needs_mandate(**wait, customer_id="", reason=f"no GoCardless customer with {email or 'an email'} yet")
    mandate = _active_mandate(client, customer["id"], currency)
    if mandate is None:
        _needs_mandate(**wait, customer_id=customer["id"], reason=f"no active mandate in {currency}")
    limit = ((mandate.get("consent_parameters") or {}).get("max_amount_per_payment")) or None
    if limit and amount_minor > int(limit):
        _needs_mandate(
            **wait,
            customer_id=customer["id"],
            reason=f"{outstanding:.2f} {currency} is over the mandate's limit of {from_minor(limit)} per payment",
        )
    covered = _subscription_cover(connection, client, customer["id"], currency, amount_minor, invoice, wait)
    if covered is not None:
        return covered
    due = _day(invoice.get("due_date"))
    earliest = _day(mandate.get("next_possible_charge_date"))
    charge_date = max(d for d in (due, earliest, timezone.localdate()) if d is not None)
    attempt = (
        GcPayment.objects.filter(connection=connection, invoice_id=invoice_id).exclude(idempotency_key="").count() + 1
    )
    key = idempotency_key(connection.tenant_id, account, invoice_id, attempt)
    body = {
        "amount": amount_minor,
        "currency": currency,
        "charge_date": charge_date.isoformat(),
        "description": f"Invoice {number}"[:100],
        "metadata": {"fb_account": account, "fb_invoice": invoice_id, "ml_tenant": str(connection.tenant_id)},
        "links": {"mandate": mandate["id"]},
    }
    payment, created = client.create("payments", body, idempotency_key=key)
    row = _keep(connection, payment, invoice_id, account, number, name, key)
    _close_request(connection, invoice_id, f"payment {payment['id']} asked for", resolved=True)
    verb = "asked GoCardless for" if created else "found the payment already asked for:"
    return SyncResult(
        remote_id=payment["id"],
        message=f"{verb} {row.payment_id}: {from_minor(payment.get('amount')):.2f} {currency} on "
        f"{payment.get('charge_date') or charge_date} for invoice #{number} (mandate {mandate['id']})",
    )


def _keep(connection, payment: dict, invoice_id: str, account: str, number: str, name: str, key: str) -> GcPayment:
    """GcPayment and the invoice's RecordLink, written once the payment exists at GoCardless."""
    defaults = {
        "tenant_id": connection.tenant_id,
        "freshbooks_account": account,
        "invoice_id": invoice_id,
        "invoice_number": number,
        "counterparty": name,
        "amount": from_minor(payment.get("amount")),
        "currency": str(payment.get("currency") or ""),
        "charge_date": _day(payment.get("charge_date")),
        "status": str(payment.get("status") or "pending_submission"),
        "idempotency_key": key,
    }
    try:
        row, _ = GcPayment.objects.update_or_create(connection=connection, payment_id=payment["id"], defaults=defaults)
    except IntegrityError:  # an event about it was stored at the same moment
        row = GcPayment.objects.get(connection=connection, payment_id=payment["id"])
        GcPayment.objects.filter(pk=row.pk).update(**{k: v for k, v in defaults.items() if k != "status"})
    RecordLink.objects.update_or_create(
        connection=connection,
        source_type="invoice",
        source_id=invoice_id,
        remote_type="payment",
        defaults={"tenant_id": connection.tenant_id, "remote_id": payment["id"]},
    )
    return row


def _keep_or_adjust(connection, client, event, active: GcPayment, outstanding, currency, number, account, invoice):
    """The invoice already has a payment: keep it, or (edited before submission) ask again."""
    if active.amount == outstanding and active.currency == currency:
        return SyncResult(
            remote_id=active.payment_id,
            noop=True,
            message=f"invoice #{number} already has payment {active.payment_id} ({active.status.replace('_', ' ')})",
        )
    if active.status not in CANCELLABLE:
        reason = (
            f"invoice #{number} now says {outstanding:.2f} {currency} but payment {active.payment_id} of "
            f"{active.amount:.2f} {active.currency} is already {active.status.replace('_', ' ')}"
        )
        _flag(active, reason)
        return SyncResult(remote_id=active.payment_id, noop=True, message=f"flagged: {reason}")
    _withdraw(client, active, f"invoice #{number} was changed to {outstanding:.2f} {currency}")
    return _create(connection, client, event, None, invoice, account, outstanding, currency, number)


def _withdraw(client: GoCardlessClient, active: GcPayment | None, reason: str) -> SyncResult:
    if active is None:
        return SyncResult(nothing_to_send=True, message=f"{reason}; no payment had been asked for")
    if active.status not in CANCELLABLE:
        _flag(active, f"{reason}, but payment {active.payment_id} is already {active.status.replace('_', ' ')}")
        return SyncResult(remote_id=active.payment_id, noop=True, message=f"flagged: {active.flag}")
    try:
        cancelled = client.action("payments", active.payment_id, "cancel")
    except Rejected as exc:
        cancelled = client.fetch("payments", active.payment_id)
        if cancelled.get("status") != "cancelled":  # submitted meanwhile (else: our earlier cancel's answer was lost)
            _flag(active, f"{reason}, but payment {active.payment_id} could not be cancelled: {exc.message}")
            return SyncResult(remote_id=active.payment_id, noop=True, message=f"flagged: {active.flag}")
    GcPayment.objects.filter(pk=active.pk).update(
        status=cancelled.get("status") or "cancelled", updated_at=timezone.now()
    )
    return SyncResult(remote_id=active.payment_id, message=f"cancelled payment {active.payment_id}: {reason}")


def _flag(row: GcPayment, reason: str) -> None:
    row.flag, row.flagged_at = reason[:300], timezone.now()
    GcPayment.objects.filter(pk=row.pk).update(flag=row.flag, flagged_at=row.flagged_at)
    from integrations.gocardless.flags import notify

    notify(row, reason)


# --- customers and mandates -----------------------------------------------------------------------


def find_customer(connection, client: GoCardlessClient, fb_client_id: str, email: str) -> dict | None:
    """By the link kept from last time, else by metadata.freshbooks_client_id, else by email."""
    link = RecordLink.objects.filter(
        connection=connection, source_type="client", source_id=fb_client_id, remote_type="customer"
    ).first()
    if link is not None and fb_client_id:
        try:
            found = client.fetch("customers", link.remote_id)
            if not found.get("removed_at"):  # UNCONFIRMED field; a removed customer is not used
                return found
        except NotFound:
            pass
    by_email = None
    for customer in client.iterate("customers"):
        meta = customer.get("metadata") or {}
        if fb_client_id and str(meta.get("freshbooks_client_id") or "") == fb_client_id:
            by_email = customer
            break
        if email and by_email is None and str(customer.get("email") or "").strip().lower() == email.lower():
            by_email = customer
    if by_email is not None and fb_client_id:
        RecordLink.objects.update_or_create(
            connection=connection,
            source_type="client",
            source_id=fb_client_id,
            remote_type="customer",
            defaults={"tenant_id": connection.tenant_id, "remote_id": by_email["id"]},
        )
    return by_email


def _active_mandate(client: GoCardlessClient, customer_id: str, currency: str) -> dict | None:
    mandates = [
        m
        for m in client.iterate("mandates", {"customer": customer_id, "status": "active"})
        if SCHEME_CURRENCIES.get(str(m.get("scheme") or "")) == currency and m.get("status") == "active"
    ]
    mandates.sort(key=lambda m: str(m.get("created_at") or ""), reverse=True)
    return mandates[0] if mandates else None


def _subscription_cover(
    connection, client, customer_id: str, currency: str, amount_minor: int, invoice: dict, wait: dict
):
    """A client paying a monthly retainer through a GoCardless subscription is never charged again
    for the invoice it covers: an invoice whose client, amount and period (from SUBSCRIPTION_WINDOW
    days before the invoice date to as long after its due date) match exactly one upcoming payment
    of the client's active subscriptions is linked to that payment instead. Several matches go to a
    person (the invoice waits on the list), never to the bank."""
    invoice_id = wait["invoice_id"]
    mine = RecordLink.objects.filter(
        connection=connection, source_type="invoice", source_id=invoice_id, remote_type=SUBSCRIPTION_PAYMENT
    ).first()
    if mine is not None:
        return SyncResult(
            remote_id=mine.remote_id.split(":")[0],
            noop=True,
            message=f"invoice #{wait['number']} is covered by subscription payment {mine.remote_id}",
        )
    subscriptions = [
        s
        for s in client.iterate("subscriptions", {"customer": customer_id, "status": "active"})
        if s.get("currency") == currency
    ]
    if not subscriptions:
        return None
    start = (_day(invoice.get("create_date")) or timezone.localdate()) - SUBSCRIPTION_WINDOW
    end = (_day(invoice.get("due_date")) or timezone.localdate()) + SUBSCRIPTION_WINDOW
    claimed = set(
        RecordLink.objects.filter(connection=connection, remote_type=SUBSCRIPTION_PAYMENT).values_list(
            "remote_id", flat=True
        )
    )
    matches = [
        f"{s['id']}:{u.get('charge_date')}"
        for s in subscriptions
        for u in (s.get("upcoming_payments") or [])
        if int(u.get("amount") or 0) == amount_minor and (d := _day(u.get("charge_date"))) and start <= d <= end
    ]
    free = [m for m in matches if m not in claimed]
    if len(free) == 1:
        RecordLink.objects.create(
            tenant_id=connection.tenant_id,
            connection=connection,
            source_type="invoice",
            source_id=invoice_id,
            remote_type=SUBSCRIPTION_PAYMENT,
            remote_id=free[0],
            data={"invoice_number": wait["number"], "counterparty": wait["name"]},
        )
        _close_request(connection, invoice_id, "covered by a subscription", resolved=True)
        return SyncResult(
            remote_id=free[0].split(":")[0],
            message=f"invoice #{wait['number']} is covered by subscription payment {free[0]}: not charged again",
        )
    if len(free) > 1:
        _needs_mandate(
            **wait,
            customer_id=customer_id,
            kind=MandateRequest.Kind.DECISION,
            reason=f"matches {len(free)} upcoming subscription payments ({', '.join(free)}): a person decides",
        )
    return None


def subscription_invoice(connection, subscription_id: str, charge_date: str) -> RecordLink | None:
    """The invoice a subscription's payment was matched to, if any."""
    return RecordLink.objects.filter(
        connection=connection, remote_type=SUBSCRIPTION_PAYMENT, remote_id=f"{subscription_id}:{charge_date}"
    ).first()


def _needs_mandate(
    *,
    connection,
    delivery,
    invoice_id,
    number,
    fb_client_id,
    name,
    email,
    amount,
    currency,
    customer_id,
    reason,
    kind=MandateRequest.Kind.MANDATE,
):
    row, made = MandateRequest.objects.get_or_create(
        connection=connection,
        invoice_id=invoice_id,
        defaults={"tenant_id": connection.tenant_id, "reason": reason[:300]},
    )
    row.kind = kind
    row.delivery = delivery or row.delivery
    row.invoice_number, row.freshbooks_client_id, row.client_name, row.email = number, fb_client_id, name, email
    row.amount, row.currency, row.customer_id, row.reason = amount, currency, customer_id, reason[:300]
    if row.status in (MandateRequest.Status.RESOLVED, MandateRequest.Status.CLOSED):
        row.status, row.resolved_at = MandateRequest.Status.OPEN, None
    row.save()
    if kind == MandateRequest.Kind.DECISION:
        raise Waiting(f"needs a person: {reason} (invoice #{number} is on the “Needs a mandate” list)")
    raise Waiting(f"needs a mandate: {reason} (invoice #{number} is on the “Needs a mandate” list)")


def _close_request(connection, invoice_id: str, why: str, resolved: bool = False) -> None:
    MandateRequest.objects.filter(
        connection=connection,
        invoice_id=invoice_id,
        status__in=[MandateRequest.Status.OPEN, MandateRequest.Status.LINK_SENT],
    ).update(
        status=MandateRequest.Status.RESOLVED if resolved else MandateRequest.Status.CLOSED, resolved_at=timezone.now()
    )


def mandate_ready(connection, client: GoCardlessClient, customer_id: str) -> int:
    """A mandate of this customer became usable: the invoices waiting for it go on (each checks
    again, and waits again if the mandate does not fit)."""
    from mlconnector.pipeline.resume import resume_deliveries

    waiting = list(
        MandateRequest.objects.filter(
            connection=connection, status__in=[MandateRequest.Status.OPEN, MandateRequest.Status.LINK_SENT]
        )
    )
    if not waiting:
        return 0
    customer = client.fetch("customers", customer_id)
    email = str(customer.get("email") or "").strip().lower()
    fb_client = str((customer.get("metadata") or {}).get("freshbooks_client_id") or "")
    mine = [
        r
        for r in waiting
        if r.customer_id == customer_id
        or (email and (r.email or "").strip().lower() == email)
        or (fb_client and r.freshbooks_client_id == fb_client)
    ]
    deliveries = [r.delivery_id for r in mine if r.delivery_id]
    resume_deliveries(Delivery.objects.filter(pk__in=deliveries), f"a mandate is in place for customer {customer_id}")
    return len(mine)


def billing_request_link(row: MandateRequest, audit: AuditContext, return_url: str) -> str:
    """GoCardless's hosted flow for the client to set up a mandate: a billing request with a
    mandate request in the invoice's currency, and a flow pre-filled with what FreshBooks knows."""
    client = GoCardlessClient(row.connection, audit=audit)
    body = {
        "mandate_request": {"currency": row.currency},
        "metadata": {"freshbooks_client_id": row.freshbooks_client_id, "fb_invoice": row.invoice_id},
    }
    if row.customer_id:
        body["links"] = {"customer": row.customer_id}
    key = f"ml-connector:{row.tenant_id}:mandate-request:{row.pk}:{row.billing_request_id or 'new'}"
    request, _ = client.create("billing_requests", body, idempotency_key=key)
    given, _, family = (row.client_name or "").partition(" ")
    flow, _ = client.create(
        "billing_request_flows",
        {
            "redirect_uri": return_url,
            "exit_uri": return_url,
            "links": {"billing_request": request["id"]},
            "prefilled_customer": {
                "email": row.email or "",
                "company_name": row.client_name or "",
                "given_name": given,
                "family_name": family,
            },
        },
        idempotency_key=f"{key}:flow:{request['id']}",
    )
    row.billing_request_id = request["id"]
    row.flow_url = str(flow.get("authorisation_url") or "")
    row.status = MandateRequest.Status.LINK_SENT
    row.save(update_fields=["billing_request_id", "flow_url", "status"])
    return row.flow_url


# --- FreshBooks side -----------------------------------------------------------------------------


def _freshbooks_client(event, account: str, client_id: str, audit: AuditContext) -> dict:
    """The invoice's client, read with the tenant's FreshBooks token (invoices carry no email)."""
    if not client_id or not account:
        return {}
    try:
        return FreshBooksClient(event.connection, audit=audit.for_connection(event.connection)).get_record(
            account, "client", client_id
        )
    except NotFound:
        return {}
    except ProviderError as exc:
        # FreshBooks' trouble, not GoCardless's: this delivery must not mark GoCardless as needing a
        # reconnect. It tries again later (FreshBooks' own connection page says what is wrong).
        raise Unavailable(f"could not read the client from FreshBooks: {exc}", retry_after=exc.retry_after) from None


def _current_invoice(event, account: str, invoice_id: str, audit: AuditContext) -> dict | None:
    try:
        return FreshBooksClient(event.connection, audit=audit.for_connection(event.connection)).get_record(
            account, "invoice", invoice_id
        )
    except NotFound:
        return None
    except ProviderError as exc:
        raise Unavailable(f"could not read the invoice from FreshBooks: {exc}", retry_after=exc.retry_after) from None


def _is_draft(invoice: dict) -> bool:
    return str(invoice.get("v3_status") or "").lower() == "draft" or str(invoice.get("status")) == "1"


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
