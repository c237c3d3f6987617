"""The audit trail: one row for everything that happened, redacted, payloads encrypted."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mlconnector.crypto import EncryptedCharField, EncryptedJSONField
from mlconnector.tenants.scoping import TenantQuerySet


class AuditRecord(models.Model):
    class Kind(models.TextChoices):
        WEBHOOK_ACCEPTED = "webhook.accepted", "Webhook accepted"
        WEBHOOK_REJECTED = "webhook.rejected", "Webhook rejected"
        HANDSHAKE = "webhook.handshake", "Webhook handshake"
        EVENT_ENRICHED = "event.enriched", "Event enriched"
        EVENT_DUPLICATE = "event.duplicate", "Event unchanged (no-op)"
        EVENT_IGNORED = "event.ignored", "Event ignored"
        EVENT_FANNED_OUT = "event.fanned_out", "Event fanned out"
        EVENT_FAILED = "event.failed", "Event failed"
        EVENT_POLLED = "event.polled", "Event found by polling"
        HTTP = "http", "Outbound call"
        DELIVERY = "delivery", "Delivery attempt"
        REPLAY = "replay", "Replay"
        CONNECTION = "connection", "Connection change"
        WORKER_DIED = "worker.died", "Worker died"
        WORKER_STOPPED = "worker.stopped", "Worker stopped"
        JOB = "job", "Scheduled job"
        KEY_ROTATED = "key.rotated", "Encryption key rotated"
        API = "api", "API change"

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        INFO = "info", "Info"
        RETRY = "retry", "Will retry"
        WAITING = "waiting", "Waiting"
        ERROR = "error", "Error"
        REJECTED = "rejected", "Rejected"

    tenant = models.ForeignKey("tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.INFO)
    provider = models.CharField(max_length=32, blank=True, default="")
    connection = models.ForeignKey(
        "connections.Connection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event = models.ForeignKey(
        "webhooks.InboundEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    delivery = models.ForeignKey(
        "pipeline.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="audit"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    invoice_number = EncryptedCharField(null=True, blank=True, default="")  # customer data: encrypted
    method = models.CharField(max_length=8, blank=True, default="")
    url = EncryptedCharField(null=True, blank=True, default="")  # may carry a client's email or name
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=128, blank=True, default="")
    message = EncryptedCharField(null=True, blank=True, default="")  # names clients, amounts, numbers
    payload = EncryptedJSONField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="audit_tenant_time"),
            models.Index(fields=["tenant", "object_id"], name="audit_tenant_object"),
            models.Index(fields=["tenant", "kind", "-created_at"], name="audit_tenant_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.outcome} · {self.created_at:%Y-%m-%d %H:%M:%S}"
