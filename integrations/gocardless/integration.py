"""GoCardless: FreshBooks invoices become direct-debit payments; what GoCardless collects, fails
and pays out comes back as events, posted to FreshBooks and kept for the month-end report.

Connecting: an access token and its environment (views.py); webhooks: signatures.py; invoices to
payments: payments_out.py; events to FreshBooks payments and fees: events.py; payouts, polling and
the report: payouts.py, polling.py, reconciliation.py. What moves each way: README.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from integrations.gocardless import signatures
from integrations.gocardless.client import GoCardlessClient
from mlconnector.contract import Endpoint, Enriched, Integration, Job, ParsedEvent, WebhookRequest
from mlconnector.http import AuditContext, Rejected

PAYMENT_ACTIONS = (
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
MANDATE_ACTIONS = ("created", "submitted", "active", "reinstated", "cancelled", "failed", "expired", "replaced")


class GoCardless(Integration):
    provider = "gocardless"
    label = "GoCardless"
    auth_kind = "token"
    connect_view = "gocardless-connect"
    # Partner OAuth, offered on the connect page when the server has a GoCardless app.
    oauth_module = "integrations.gocardless.oauth"
    urlconf = "integrations.gocardless.urls"
    api_urlconf = "integrations.gocardless.api"
    setup_template = "gocardless/_setup.html"
    # Up to 250 events in one webhook, each a kilobyte or two with its details and metadata.
    webhook_max_bytes = 1024 * 1024
    # Every other type (refunds, subscriptions, creditors, ...) is acknowledged and recorded as
    # "not an event ml-connector handles".
    produces = frozenset(
        {f"payments.{a}" for a in PAYMENT_ACTIONS}
        | {f"mandates.{a}" for a in MANDATE_ACTIONS}
        | {"payouts.paid", "billing_requests.fulfilled"}
    )
    event_labels = {"payouts.paid": "Payout paid", "billing_requests.fulfilled": "Mandate set up by the client"}
    # FreshBooks invoices as they are created, sent, edited and deleted (payments_out.py).
    sync_handlers = {
        "freshbooks": {
            "invoice.create": "request_payment",
            "invoice.update": "request_payment",
            "invoice.delete": "request_payment",
        }
    }
    jobs = {
        # The webhooks' fallback: /events read with cursors, through the same pipeline and dedupe.
        "events": Job("poll_events", every=settings.GOCARDLESS_EVENTS_POLL_MINUTES * 60, label="Events (polling)"),
        "payouts": Job("poll_payouts", every=settings.GOCARDLESS_PAYOUTS_POLL_HOURS * 3600, label="Payouts check"),
    }

    def client(self, audit: AuditContext | None = None) -> GoCardlessClient:
        return GoCardlessClient(self.connection, audit=audit)

    @classmethod
    def pages(cls, connection) -> list[tuple[str, str]]:
        return [
            ("Settings and webhooks", reverse("gocardless-settings", args=[connection.pk])),
            ("Payments", reverse("gocardless-payments", args=[connection.pk])),
            ("Needs a mandate", reverse("gocardless-mandates", args=[connection.pk])),
            ("Month-end reconciliation", reverse("gocardless-report", args=[connection.pk])),
        ]

    def check(self, audit: AuditContext | None = None) -> str:
        creditor = self.client(audit).creditor()
        env = (self.connection.config or {}).get("environment", "sandbox")
        name = creditor.get("name") or creditor.get("id")
        return f"Creditor {name} ({creditor.get('id')}) is reachable in the {env} environment."

    # --- receiving ------------------------------------------------------------------------------
    @classmethod
    def endpoint_secrets(cls, connection) -> dict[str, Any]:
        return {"webhook_secret": connection.secrets().get("webhook_secret", "")}

    @classmethod
    def verify_webhook(cls, endpoint: Endpoint, request: WebhookRequest) -> list[ParsedEvent]:
        signatures.verify(
            request.body,
            endpoint.secrets.get("webhook_secret", ""),
            request.headers.get(signatures.SIGNATURE_HEADER, ""),
        )
        return signatures.parse_events(endpoint.connection_id, request.body)

    def enrich(self, event_type: str, object_id: str, audit: AuditContext) -> Enriched:
        from integrations.gocardless import events

        resource = event_type.split(".")[0]
        handler = events.ENRICHERS.get(resource)
        if handler is None:
            raise Rejected(f"cannot fetch a GoCardless {resource}")
        return self.enrich_record(resource, handler(self.connection, self.client(audit), object_id))

    def enrich_record(self, record_type: str, record: dict) -> Enriched:
        from integrations.gocardless.events import describe

        return describe(self.connection, record_type, record)

    # --- as a target of FreshBooks invoices -----------------------------------------------------
    def request_payment(self, event, delivery, audit: AuditContext):
        from integrations.gocardless.payments_out import request_payment

        return request_payment(self.connection, event, delivery, audit)

    def remote_links(self, delivery) -> list[tuple[str, str]]:
        return [(f"GoCardless payment {delivery.remote_id}", "")] if delivery.remote_id else []

    # --- jobs -----------------------------------------------------------------------------------
    def poll_events(self, audit: AuditContext) -> str:
        from integrations.gocardless.polling import poll_events

        return poll_events(self.connection, audit)

    def poll_payouts(self, audit: AuditContext) -> str:
        from integrations.gocardless.polling import poll_payouts

        return poll_payouts(self.connection, audit)
