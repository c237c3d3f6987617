"""Salesforce: FreshBooks clients become Accounts, invoices Opportunities, and a payment closes its
Opportunity as won (a partial payment updates the paid-so-far amount and leaves it open). Every write
is an upsert by external id. Connecting: a form for the connected app's consumer key and secret and
the org's My Domain (views.py, connect.py). Details: README.md in this folder."""

from __future__ import annotations

from integrations.salesforce import org as orgmod
from integrations.salesforce.client import SalesforceClient, record_url
from integrations.salesforce.connect import newest_version
from integrations.salesforce.sync import CollectionWriter, Writer
from mlconnector.connections import services
from mlconnector.contract import Integration, SyncResult
from mlconnector.http import AuditContext, ProviderError

SOBJECT_BY_PREFIX = {"001": "Account", "006": "Opportunity"}


class Salesforce(Integration):
    provider = "salesforce"
    label = "Salesforce"
    auth_kind = "client_credentials"
    urlconf = "integrations.salesforce.urls"
    api_urlconf = "integrations.salesforce.api"
    # Connect and Reconnect open this integration's own form (consumer key, secret, My Domain).
    connect_view = "salesforce-connect"
    setup_template = "salesforce/_setup.html"
    # Due deliveries of one connection are written together through sObject Collections (200 a call).
    batch_size = 200
    # "Backfill from FreshBooks": clients first, so each invoice finds its Account linked.
    backfill_types = ("client", "invoice")
    sync_handlers = {
        "freshbooks": {
            "client.create": "sync_client",
            "client.update": "sync_client",
            "invoice.create": "sync_invoice",
            "invoice.update": "sync_invoice",
            "payment.create": "sync_payment",
            "payment.update": "sync_payment",
        }
    }

    def client(self, audit: AuditContext | None = None) -> SalesforceClient:
        return SalesforceClient(self.connection, audit=audit)

    @classmethod
    def pages(cls, connection) -> list[tuple[str, str]]:
        from django.urls import reverse

        return [
            ("Accounts in Salesforce", reverse("salesforce-accounts", args=[connection.pk])),
            ("Salesforce settings", reverse("salesforce-settings", args=[connection.pk])),
        ]

    def remote_links(self, delivery) -> list[tuple[str, str]]:
        if not delivery.remote_id:
            return []
        sobject = SOBJECT_BY_PREFIX.get(delivery.remote_id[:3], "")
        instance = self.connection.secrets().get("instance_url") or self.connection.config.get("my_domain", "")
        if not sobject or not instance:
            return [(delivery.remote_id, "")]
        return [(f"{sobject} {delivery.remote_id}", record_url(instance, sobject, delivery.remote_id))]

    def check(self, audit: AuditContext | None = None) -> str:
        """Test connection: the version list (no call counted), the limits, then the org's fields."""
        conn = self.connection
        client = self.client(audit)
        versions = client.versions()
        newest = newest_version(versions)
        pinned = conn.config.get("api_version")
        if not pinned or pinned not in {str(v.get("version")) for v in versions}:
            services.update_config(conn, {"api_version": newest}, message=f"Salesforce API version pinned: v{newest}")
            pinned = newest
        client.version = pinned
        daily = client.limits().get("DailyApiRequests") or {}
        found = orgmod.refresh(conn, client)
        used = int(daily.get("Max", 0)) - int(daily.get("Remaining", 0))
        sentence = f"Salesforce answers at {conn.config.get('my_domain')} with API v{pinned}"
        if newest != pinned:
            sentence += f" (v{newest} is available)"
        sentence += f"; {used:,} of {int(daily.get('Max', 0)):,} daily API requests used."
        for entry in found["missing_fields"]:
            sentence += f" Missing: the field {entry['sobject']}.{entry['field']} (see the connection page)."
        for entry in found["invoice_link_missing"]:
            sentence += (
                f" To link Order Management's Invoices: the field {entry['sobject']}.{entry['field']} is "
                f"{entry['problem']} (see the Salesforce settings page)."
            )
        return sentence

    # --- sending --------------------------------------------------------------------------------
    def _writer(self, audit) -> Writer:
        return Writer(self.connection, self.client(audit))

    def sync_client(self, event, delivery, audit) -> SyncResult:
        record = event.payload
        if not isinstance(record, dict):
            return SyncResult(noop=True, message="the FreshBooks client is gone; nothing to write")
        return self._writer(audit).sync_client(str(event.object_id), record)

    def sync_invoice(self, event, delivery, audit) -> SyncResult:
        record = event.payload
        if not isinstance(record, dict):
            return SyncResult(noop=True, message="the FreshBooks invoice is gone; nothing to write")
        return self._writer(audit).sync_invoice(str(event.object_id), record)

    def sync_payment(self, event, delivery, audit) -> SyncResult:
        """The Opportunity of the paid invoice, as the invoice stands after this payment (enrichment
        attaches it): won when nothing is outstanding, else open with the amount paid so far."""
        payment = event.payload
        invoice = payment.get("invoice") if isinstance(payment, dict) else None
        if not isinstance(invoice, dict):
            return SyncResult(noop=True, message="the FreshBooks payment or its invoice is gone; nothing to write")
        invoice_id = str(invoice.get("id") or invoice.get("invoiceid") or payment.get("invoiceid"))
        return self._writer(audit).sync_invoice(invoice_id, invoice)

    def sync_batch(self, deliveries: list, audit: AuditContext) -> dict:
        """Clients and invoices upserted through sObject Collections (one call per 200 of a type);
        payments, gone records, repeats of a record in the batch, and invoices whose Account is not
        linked yet go one at a time through sync(), which knows how to create the Account first."""
        if len(deliveries) < 2:
            return super().sync_batch(deliveries, audit)
        writer = CollectionWriter(self.connection, self.client(audit))
        clients, invoices, singles, seen = [], [], [], set()
        for d in deliveries:
            kind, _, action = d.event.event_type.partition(".")
            key = (kind, str(d.event.object_id))
            if (
                kind in ("client", "invoice")
                and action != "delete"
                and isinstance(d.event.payload, dict)
                and key not in seen
            ):
                seen.add(key)
                (clients if kind == "client" else invoices).append(d)
            else:
                singles.append(d)
        results: dict = {}
        stop: list[ProviderError] = []  # an error that will fail every call (the connection must reconnect)

        def run(group, write) -> None:
            """Write a group; an error of the whole call applies to each of its deliveries."""
            if not group:
                return
            if stop:
                results.update({d.pk: stop[0] for d in group})
                return
            try:
                results.update(write())
            except ProviderError as exc:
                results.update({d.pk: exc for d in group})
                if exc.needs_reconnect:
                    stop.append(exc)

        run(clients, lambda: writer.accounts([(d.pk, str(d.event.object_id), d.event.payload) for d in clients]))
        if invoices and not stop:
            linked = writer.linked_accounts({str(d.event.payload.get("customerid") or "") for d in invoices})
            ready = [d for d in invoices if linked.get(str(d.event.payload.get("customerid") or ""))]
            singles += [d for d in invoices if d not in ready]
            run(
                ready,
                lambda: writer.opportunities(
                    [
                        (d.pk, str(d.event.object_id), d.event.payload, linked[str(d.event.payload.get("customerid"))])
                        for d in ready
                    ]
                ),
            )
            singles += [d for d in ready if d.pk not in results]  # a won stage to discover again
        else:
            singles += invoices
        if stop:
            results.update({d.pk: stop[0] for d in singles})
        elif singles:
            results.update(super().sync_batch(singles, audit))
        return results
