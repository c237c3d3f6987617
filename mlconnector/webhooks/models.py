"""InboundEvent: a verified webhook (or a record found by polling), stored before it is acknowledged."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from mlconnector.crypto import EncryptedBytesField, EncryptedCharField, EncryptedDecimalField, EncryptedJSONField
from mlconnector.tenants.scoping import TenantOwned


class InboundEvent(TenantOwned):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSING = "processing", "Processing"
        # Not "received": a redelivery arriving meanwhile must still be stored (see the constraint).
        RETRYING = "retrying", "Retrying"
        PROCESSED = "processed", "Processed"
        DUPLICATE = "duplicate", "Unchanged (no-op)"
        IGNORED = "ignored", "Ignored"
        WAITING = "waiting", "Waiting for reconnect"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        POLL = "poll", "Polling backstop"
        BACKFILL = "backfill", "Backfill"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="events")
    # Set for the events a backfill stored (each delivered to that backfill's target only).
    backfill = models.ForeignKey(
        "pipeline.Backfill", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    provider = models.CharField(max_length=32)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.WEBHOOK, db_default=Source.WEBHOOK)
    event_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    account_id = models.CharField(max_length=64, blank=True, default="")
    # Same wire content while still waiting to be processed = a redelivery: the insert is a no-op.
    dedupe_key = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    raw_body = EncryptedBytesField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)  # redacted
    payload = EncryptedJSONField(null=True, blank=True)  # the enriched record
    version = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Columns the receiver does not write carry database defaults (db_default) or are NULL, so its
    # INSERT names only what varies per webhook (see webhooks/store.py).
    # Customer data, encrypted ("" is stored as NULL); found through the blind index (search.py).
    invoice_number = EncryptedCharField(null=True, blank=True, default="")
    counterparty = EncryptedCharField(null=True, blank=True, default="")
    amount = EncryptedDecimalField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="", db_default="")
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    worker_deaths = models.PositiveIntegerField(default=0, db_default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # "<node>:<pid>" of the worker process processing it (see pipeline/node.py).
    lease_owner = models.CharField(max_length=100, blank=True, default="", db_default="")
    last_error = EncryptedCharField(null=True, blank=True, default="")  # may quote the record
    received_at = models.DateTimeField(db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(status="received"), name="inbound_pending_dedupe"
            ),
            # A provider's own event id (contract.ONCE_PREFIX): stored once for ever.
            models.UniqueConstraint(
                fields=["dedupe_key"], condition=Q(dedupe_key__startswith="once:"), name="inbound_once_dedupe"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="inbound_due"),
            models.Index(fields=["tenant", "-received_at"], name="inbound_tenant_time"),
            models.Index(fields=["tenant", "object_id"], name="inbound_tenant_object"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type} {self.object_id}"


class EventSearchTerm(TenantOwned):
    """One keyed digest of a word prefix of an event's encrypted text (see mlconnector/search.py)."""

    event = models.ForeignKey(InboundEvent, on_delete=models.CASCADE, related_name="+")
    term = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "term"], name="one_search_term_per_event")]
        indexes = [models.Index(fields=["tenant", "term"], name="search_tenant_term")]
