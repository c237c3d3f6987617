"""FreshBooks, the books: the source of every event ml-connector moves.

Receiving: form-encoded webhooks signed per callback (signatures.py), the callback.verify handshake
(callbacks.py). Enrichment: webhooks carry ids only, so each event fetches its record (and the
related records a message needs: a payment's invoice, an expense's category, a bill's vendor).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from django.conf import settings

from integrations.freshbooks import signatures
from integrations.freshbooks.client import FreshBooksClient, money
from mlconnector.contract import (
    BadSignature,
    Endpoint,
    Enriched,
    HandshakeResponse,
    Integration,
    Job,
    MalformedWebhook,
    ParsedEvent,
    PulledPage,
    WebhookRequest,
)
from mlconnector.http import AuditContext, NotFound, Rejected

RECORD_TYPES = ("invoice", "payment", "client", "bill", "bill_vendor", "expense")
# Keys enrichment attaches (related records, included lines): left out of the version, so a record
# from a list page and the same record fetched and enriched compare equal.
ATTACHED_KEYS = frozenset({"invoice", "category", "vendor", "lines"})
ACTIONS = ("create", "update", "delete")


class FreshBooks(Integration):
    provider = "freshbooks"
    label = "FreshBooks"
    auth_kind = "oauth2"
    oauth_module = "integrations.freshbooks.oauth"
    setup_template = "freshbooks/_callbacks.html"  # each webhook and where its handshake stands
    # https://www.freshbooks.com/api/webhooks (event list: PipedreamHQ constants, see vendors doc §1.7)
    produces = frozenset(f"{t}.{a}" for t in RECORD_TYPES for a in ACTIONS) | {"invoice.sendByEmail"}
    event_labels = {"invoice.sendByEmail": "Invoice emailed", "payment.create": "Payment received"}
    # FreshBooks as a target: payments collected elsewhere, recorded against their invoice
    # (payments_in.py). GoCardless's enrichment supplies the collected-payment shape it documents.
    # Every payment event goes to one handler that acts on the payment's state as GoCardless reports
    # it when the event is handled, not on the event's name: a late `confirmed` after `charged_back`
    # records nothing, and a `submitted` handled after the payment was confirmed records it. A
    # payout's fees become one expense.
    sync_handlers = {
        "gocardless": {
            **{
                f"payments.{action}": "settle_payment"
                for action in (
                    "created",
                    "customer_approval_granted",
                    "customer_approval_denied",
                    "submitted",
                    "confirmed",
                    "paid_out",
                    "failed",
                    "charged_back",
                    "chargeback_cancelled",
                    "chargeback_settled",
                    "late_failure_settled",
                    "resubmission_requested",
                    "cancelled",
                )
            },
            "payouts.paid": "record_fees",
        }
    }
    # The polling backstop, per connection (each holds its own interval; FRESHBOOKS_POLL_MINUTES is
    # the default): re-reads what changed and feeds what the webhooks missed (polling.py).
    jobs = {
        "poll": Job("poll", every=settings.FRESHBOOKS_POLL_MINUTES * 60, label="Polling backstop"),
        # Webhooks still unverified: try the codes that arrived, ask FreshBooks to resend (handshake.py).
        "handshakes": Job("settle_handshakes", every=60, label="Webhook verification"),
    }

    def client(self, audit: AuditContext | None = None) -> FreshBooksClient:
        return FreshBooksClient(self.connection, audit=audit)

    @property
    def account_id(self) -> str:
        account = (self.connection.config or {}).get("account_id")
        if not account:
            raise Rejected("this FreshBooks connection has no business chosen yet")
        return account

    # --- onboarding -----------------------------------------------------------------------------
    @classmethod
    def choose_account(cls, conn, choice_id, *, actor):
        from integrations.freshbooks.oauth import choose_account

        return choose_account(conn, choice_id, actor=actor)

    def check(self, audit: AuditContext | None = None) -> str:
        client = self.client(audit)
        me = client.me()
        client.list_page(self.account_id, "invoice", per_page=1)
        business = self.connection.config.get("business_name") or self.account_id
        return f"Signed in as {me.get('email') or me.get('identity_id')}; {business} is reachable."

    # --- receiving ------------------------------------------------------------------------------
    @classmethod
    def endpoint_secrets(cls, connection) -> dict[str, Any]:
        from integrations.freshbooks.models import FreshBooksCallback

        return {
            "callbacks": [
                {"event": cb.event, "verifier": cb.verifier}
                for cb in FreshBooksCallback.objects.filter(connection=connection, verified=True)
                if cb.verifier
            ]
        }

    @classmethod
    def handshake(cls, endpoint: Endpoint, request: WebhookRequest) -> HandshakeResponse | None:
        if b"callback.verify" not in request.body:
            return None
        try:
            fields = signatures.parse_form(request.body)
        except MalformedWebhook:
            return None
        if fields.get("name") != "callback.verify":
            return None
        verifier = fields.get("verifier", "")
        if not verifier:
            return HandshakeResponse(400, b"callback.verify without a verifier")
        from integrations.freshbooks.handshake import receive_code

        # 200 whether the code was kept or dropped (unknown or verified callback, slots full).
        # Over the per-endpoint budget, 429: should FreshBooks retry a refused verify POST
        # (UNCONFIRMED), the genuine code still arrives; if not, resend_due asks for a new one, as
        # it does for any callback left unverified. (Only codes for a callback that waits count
        # towards the budget, so a 429 tells a sender that id waits; ids are sequential anyway,
        # and what it can send is bounded by that same budget.)
        if receive_code(endpoint.connection_id, endpoint.tenant_id, fields["object_id"], verifier) == "rate limited":
            return HandshakeResponse(429, b"too many handshakes for this endpoint; try again in a minute")
        return HandshakeResponse(200, b"ok")

    @classmethod
    def verify_webhook(cls, endpoint: Endpoint, request: WebhookRequest) -> list[ParsedEvent]:
        fields = signatures.parse_form(request.body)
        signature = request.headers.get(signatures.SIGNATURE_HEADER, "")
        if not signature:
            raise BadSignature("missing X-FreshBooks-Hmac-SHA256 header")
        name = fields["name"]
        parent = name.split(".")[0]
        candidates = [cb["verifier"] for cb in endpoint.secrets.get("callbacks", []) if cb["event"] in (name, parent)]
        if not candidates:
            raise BadSignature(f"no verified callback for {name}")
        ok = False
        for verifier in candidates:
            ok |= signatures.matches(fields, verifier, signature)
        if not ok:
            raise BadSignature("signature does not match")
        digest = hashlib.sha256(str(endpoint.connection_id).encode() + b"\x00" + signatures.message(fields))
        return [
            ParsedEvent(
                event_type=name,
                object_id=fields["object_id"],
                account_id=fields.get("account_id", ""),
                dedupe_key=digest.hexdigest(),
                fields=dict(fields),
            )
        ]

    # --- as a target ----------------------------------------------------------------------------
    def record_payment(self, event, delivery, audit: AuditContext):
        from integrations.freshbooks.payments_in import record_payment

        return record_payment(self.connection, self.account_id, event, delivery, audit)

    def settle_payment(self, event, delivery, audit: AuditContext):
        from integrations.freshbooks.payments_in import settle_payment

        return settle_payment(self.connection, self.account_id, event, delivery, audit)

    def record_fees(self, event, delivery, audit: AuditContext):
        from integrations.freshbooks.payments_in import record_fees

        return record_fees(self.connection, self.account_id, event, delivery, audit)

    # --- enrichment -----------------------------------------------------------------------------
    def enrich(self, event_type: str, object_id: str, audit: AuditContext) -> Enriched:
        record_type, _, action = event_type.partition(".")
        gone = Enriched(record_type=record_type, record=None, version=f"deleted:{object_id}")
        if action == "delete" and record_type not in RECORD_TYPES:
            return gone
        if record_type not in RECORD_TYPES:
            raise Rejected(f"cannot fetch a FreshBooks {record_type}")
        client = self.client(audit)
        includes = ("lines",) if record_type == "invoice" else ()
        try:
            # A FreshBooks delete is soft (vis_state 1; https://www.freshbooks.com/api/active_deleted): the
            # record is still readable, and targets see what was deleted (HubSpot voids the invoice, the
            # balance leaves it). Only a record that is really gone comes as None.
            record = client.get_record(self.account_id, record_type, object_id, includes=includes)
        except NotFound:
            if action == "delete":
                return gone
            raise
        self._attach_related(client, record_type, record)
        return self.enrich_record(record_type, record)

    def _attach_related(self, client: FreshBooksClient, record_type: str, record: dict) -> None:
        related = {
            "payment": ("invoice", "invoiceid", "invoice"),
            "expense": ("category", "categoryid", "category"),
            "bill": ("bill_vendor", "vendorid", "vendor"),
        }.get(record_type)
        if related is None:
            return
        resource, key, attach_as = related
        if record.get(key) in (None, "", 0) or isinstance(record.get(attach_as), dict):
            return
        try:
            record[attach_as] = client.get_record(self.account_id, resource, record[key])
        except NotFound:
            record[attach_as] = None

    def enrich_record(self, record_type: str, record: dict) -> Enriched:
        amount, currency = _amount(record_type, record)
        return Enriched(
            record_type=record_type,
            record=record,
            version=_version(record),
            updated=str(record.get("updated") or record.get("updated_at") or ""),
            invoice_number=_invoice_number(record_type, record),
            counterparty=_counterparty(record_type, record),
            amount=amount,
            currency=currency,
        )

    def poll(self, audit: AuditContext) -> str:
        from integrations.freshbooks.polling import poll

        return poll(self.connection, audit)

    def settle_handshakes(self, audit: AuditContext) -> str:
        from integrations.freshbooks.handshake import NOTHING_DUE, resend_due

        outcome = resend_due(self.connection.pk)
        return "" if outcome in (NOTHING_DUE, "not active") else outcome

    def pull_page(self, record_type: str, page: int, per_page: int, audit: AuditContext) -> PulledPage:
        if record_type not in RECORD_TYPES:
            raise Rejected(f"cannot list FreshBooks {record_type} records")
        includes = ("lines",) if record_type == "invoice" else ()
        records, pages, total = self.client(audit).page_with_total(
            self.account_id, record_type, page=page, per_page=per_page, includes=includes
        )
        return PulledPage(records=records, number=page, pages=pages, total=total)

    def pull(self, since, audit: AuditContext):
        from integrations.freshbooks.polling import pull

        return pull(self, since, audit)


def _version(record: dict) -> str:
    own = {k: v for k, v in record.items() if k not in ATTACHED_KEYS}
    return hashlib.sha256(json.dumps(own, sort_keys=True, default=str).encode()).hexdigest()


def _amount(record_type: str, record: dict) -> tuple[Decimal | None, str]:
    for key in ("amount", "total_amount"):
        amount, code = money(record.get(key))
        if amount is not None:
            return amount, code or str(record.get("currency_code") or "")
    return None, ""


def _invoice_number(record_type: str, record: dict) -> str:
    if record_type == "invoice":
        return str(record.get("invoice_number") or "")
    if record_type == "payment" and isinstance(record.get("invoice"), dict):
        return str(record["invoice"].get("invoice_number") or "")
    if record_type == "bill":
        return str(record.get("bill_number") or "")
    return ""


def _person(record: dict) -> str:
    return " ".join(p for p in (record.get("fname"), record.get("lname")) if p) or ""


def _counterparty(record_type: str, record: dict) -> str:
    if record_type in ("invoice", "client"):
        return str(record.get("organization") or record.get("current_organization") or _person(record))
    if record_type == "payment":
        invoice = record.get("invoice") if isinstance(record.get("invoice"), dict) else {}
        return str(invoice.get("organization") or invoice.get("current_organization") or _person(invoice))
    if record_type == "bill":
        vendor = record.get("vendor") if isinstance(record.get("vendor"), dict) else {}
        return str(vendor.get("vendor_name") or vendor.get("name") or "")
    if record_type == "bill_vendor":
        return str(record.get("vendor_name") or "")
    if record_type == "expense":
        return str(record.get("vendor") or "")
    return ""
