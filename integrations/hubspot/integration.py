"""HubSpot: FreshBooks clients become contacts and companies, invoices become invoices with line items,
payments become commerce payments, and each contact and company carries the client's balance.

A target that takes batches (up to HUBSPOT_BATCH_SIZE deliveries of one connection per call, through
the core's batch seam) and can be backfilled from FreshBooks. Connects with a private app token and
the hub id, or by signing in to a public app (OAuth) when the server has one. Details: README.md.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import ClassVar

from django.conf import settings

from integrations.hubspot.client import HubSpotClient
from mlconnector.contract import Integration, Job, SyncResult
from mlconnector.http import AuditContext, Rejected

_PAIRS = {"client": ("contact", "contacts"), "vendor": ("company", "companies"), "invoice": ("invoice", "invoices")}
_PAIRS["payment"] = ("payment", "commerce_payments")


class _WhenConfigured:
    """`oauth_module` only while the server has a HubSpot app: the core offers sign-in (the connect
    route, the token form's "Prefer signing in?", the home page's second link) exactly when it reads one."""

    def __get__(self, obj, owner=None) -> str:
        from integrations.hubspot.oauth import configured

        return "integrations.hubspot.oauth" if configured() else ""


class HubSpot(Integration):
    provider = "hubspot"
    label = "HubSpot"
    auth_kind = "token"
    oauth_module = _WhenConfigured()
    # Sign-in when there is an app, else the token form; a private app connection reconnects with a token.
    connect_view = "hubspot-connect"
    urlconf = "integrations.hubspot.urls"
    api_urlconf = "integrations.hubspot.api"
    setup_template = "hubspot/_setup.html"
    token_form: ClassVar[bool] = True
    token_form_label: ClassVar[str] = "Private app access token"
    token_form_account: ClassVar[str] = "Hub ID"
    token_form_account_help: ClassVar[str] = (
        "The number shown next to your account name in HubSpot's account menu "
        "(also in the URL, app.hubspot.com/…/<hub id>/)."
    )
    token_form_help: ClassVar[str] = (
        "In HubSpot, open Settings → Integrations → Private apps, create an app (or open yours) with the scopes for "
        "contacts, companies, invoices, line items and commerce payments (read and write) and their schemas, and copy "
        "its access token (pat-…). It is checked with HubSpot before it is saved, stored encrypted, "
        "and never shown again."
    )
    batch_size = settings.HUBSPOT_BATCH_SIZE
    backfill_types = ("client", "invoice", "payment")
    sync_handlers = {
        "freshbooks": {
            "client.create": "sync_one",
            "client.update": "sync_one",
            "bill_vendor.create": "sync_one",
            "bill_vendor.update": "sync_one",
            "invoice.create": "sync_one",
            "invoice.update": "sync_one",
            # A FreshBooks delete is soft (vis_state 1, still readable): the invoice is voided in HubSpot and
            # a deleted payment stops counting towards the balance (sync.py, ledger.py).
            "invoice.delete": "sync_one",
            "payment.create": "sync_one",
            "payment.update": "sync_one",
            "payment.delete": "sync_one",
        }
    }
    jobs = {"daily": Job("daily_check", every=24 * 3600, label="Daily check: invoice support and overdue balances")}

    def client(self, audit: AuditContext | None = None) -> HubSpotClient:
        return HubSpotClient(self.connection, audit=audit)

    # --- onboarding -----------------------------------------------------------------------------
    @classmethod
    def connect_with_token(cls, request, tenant, token: str, reconnect, account: str = ""):
        from integrations.hubspot.connect import connect_with_token

        return connect_with_token(request, tenant, token, reconnect, account)

    @classmethod
    def pages(cls, connection) -> list[tuple[str, str]]:
        from django.urls import reverse

        return [("Schedule and invoices", reverse("connection-detail", args=[connection.pk]) + "#hubspot-h")]

    def check(self, audit: AuditContext | None = None) -> str:
        details = self.client(audit).account_details()
        hub = str(details.get("portalId"))
        if self.connection.external_account_id and hub != self.connection.external_account_id:
            raise Rejected(f"the stored token now belongs to hub {hub}, not hub {self.connection.external_account_id}")
        return f"HubSpot hub {hub} is reachable ({details.get('timeZone', '')}, {details.get('companyCurrency', '')})."

    # --- sending --------------------------------------------------------------------------------
    def deliver_at(self, connection, now):
        """Real time: due at the end of a short window, so the events of a burst share batch calls.
        Digest: due at the next multiple of N hours (UTC), for teams that want HubSpot to change in batches."""
        schedule = (connection.config or {}).get("schedule") or {}
        if schedule.get("mode") == "digest":
            step = max(1, int(schedule.get("every_hours") or 4)) * 3600
        else:
            step = settings.HUBSPOT_BATCH_WINDOW
        if step <= 0:
            return now
        epoch = now.timestamp()
        return now + timedelta(seconds=math.ceil(epoch / step) * step - epoch)

    def sync_one(self, event, delivery, audit) -> SyncResult:
        return self.sync_batch([delivery], audit)[delivery.pk]

    def sync_batch(self, deliveries, audit):
        from integrations.hubspot.sync import Writer

        return Writer(self, deliveries, audit).run()

    def association_types(self, client: HubSpotClient, *pairs: tuple[str, str]) -> dict[tuple[str, str], int]:
        """HUBSPOT_DEFINED unlabelled association type ids, read from HubSpot's labels API once per
        connection rather than guessed (vendors doc §2.5)."""
        from mlconnector.connections import services

        known = dict((self.connection.config or {}).get("association_types") or {})
        missing = [p for p in pairs if f"{p[0]}>{p[1]}" not in known]
        for from_type, to_type in missing:
            data = (
                client.call(
                    "GET",
                    f"/crm/v4/associations/{from_type}/{to_type}/labels",
                    what=f"{from_type} to {to_type} association types",
                )
                or {}
            )
            found = [
                r for r in data.get("results") or [] if r.get("category") == "HUBSPOT_DEFINED" and not r.get("label")
            ]
            if not found:
                raise Rejected(f"HubSpot names no default association from {from_type} to {to_type}")
            known[f"{from_type}>{to_type}"] = int(found[0]["typeId"])
        if missing:
            services.update_config(
                self.connection, {"association_types": known}, message="HubSpot association types read"
            )
        return {p: known[f"{p[0]}>{p[1]}"] for p in pairs}

    def remote_links(self, delivery) -> list[tuple[str, str]]:
        """The contact (and company), invoice or payment written, as a link into HubSpot."""
        from mlconnector.pipeline.models import RecordLink

        kind = {"client": "client", "bill_vendor": "vendor", "invoice": "invoice", "payment": "payment"}.get(
            delivery.event_type.split(".")[0]
        )
        if kind is None or not delivery.remote_id:
            return super().remote_links(delivery)
        remote_type, object_type = _PAIRS[kind]
        out = [(f"{remote_type} {delivery.remote_id}", self.record_url(object_type, delivery.remote_id))]
        if kind == "client":
            company = RecordLink.objects.filter(
                connection=self.connection,
                source_type="client",
                source_id=delivery.event.object_id,
                remote_type="company",
            ).first()
            if company:
                out.append((f"company {company.remote_id}", self.record_url("companies", company.remote_id)))
        return out

    def record_url(self, object_type: str, object_id: str) -> str:
        type_ids = {"contacts": "0-1", "companies": "0-2", "invoices": "0-53", "commerce_payments": "0-101"}
        return settings.HUBSPOT_RECORD_URL.format(
            hub=self.connection.external_account_id, type=object_type, type_id=type_ids[object_type], id=object_id
        )

    # --- the daily check ------------------------------------------------------------------------
    def daily_check(self, audit: AuditContext) -> str:
        from integrations.hubspot.sync import invoice_probe, refresh_overdue

        said = [invoice_probe(self.connection), refresh_overdue(self, audit)]
        return "; ".join(s for s in said if s)
