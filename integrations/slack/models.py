"""Slack's own state: the tenant's routing rules, and one row per message posted (or to post)."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from mlconnector.crypto import EncryptedCharField, EncryptedJSONField
from mlconnector.tenants.scoping import TenantOwned

# The FreshBooks events a rule can route (issue 3); the Slack integration consumes exactly these.
EVENT_CHOICES = [
    ("invoice.create", "Invoice created"),
    ("invoice.update", "Invoice updated"),
    ("payment.create", "Payment received"),
    ("bill.create", "Bill posted"),
    ("bill.update", "Bill updated"),
    ("expense.create", "Expense created"),
    ("expense.update", "Expense updated"),
]
EVENT_LABELS = dict(EVENT_CHOICES)


class RoutingRule(TenantOwned):
    """'Invoices over 5,000 go to #exec-alerts': ordered, per tenant, edited by finance admins."""

    class Comparison(models.TextChoices):
        AT_LEAST = "at_least", "at least"
        ABOVE = "above", "above"
        BELOW = "below", "below"

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    event_types = models.JSONField(default=list)
    comparison = models.CharField(max_length=16, choices=Comparison.choices, blank=True, default="")
    # In the record's own currency: 5,000 means 5,000 USD for a USD invoice and 5,000 EUR for a EUR one.
    threshold = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    # Empty = every currency; otherwise the rule only matches records in this currency.
    currency = models.CharField(max_length=3, blank=True, default="")
    # Filters: case-insensitive; blank = no filter.
    counterparty = models.CharField(
        "client or vendor", max_length=200, blank=True, default="", help_text="Only this client or vendor."
    )
    exclude_categories = models.JSONField(
        default=list, blank=True, help_text="Expense categories to skip, e.g. Internal."
    )
    # The workspace and channel (ids are what Slack wants; the name is for people and the audit trail).
    team_id = models.CharField(max_length=32, blank=True, default="")
    channel_id = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant", "position", "id"]
        indexes = [models.Index(fields=["tenant", "enabled", "position"], name="slack_rule_tenant")]

    def __str__(self) -> str:
        return f"{self.name} → #{self.channel_name}"

    def describe(self) -> str:
        events = ", ".join(EVENT_LABELS.get(e, e).lower() for e in self.event_types) or "no events"
        events = events[0].upper() + events[1:]
        parts = [events]
        if self.comparison and self.threshold is not None:
            amount = f"{self.threshold:,.2f}" + (f" {self.currency}" if self.currency else "")
            parts.append(f"amount {self.get_comparison_display()} {amount}")
        if self.counterparty:
            parts.append(f"only {self.counterparty}")
        if self.exclude_categories:
            parts.append("skipping " + ", ".join(self.exclude_categories))
        return "; ".join(parts) + f" → #{self.channel_name}"


class SlackPost(TenantOwned):
    """One message for one channel, for one delivery: what makes a retry or replay post it once."""

    class Status(models.TextChoices):
        PENDING = "pending", "To post"
        SENDING = "sending", "Posting"
        POSTED = "posted", "Posted"
        FAILED = "failed", "Failed"
        UNCERTAIN = "uncertain", "Maybe posted (check the channel)"
        SKIPPED = "skipped", "No longer routed"
        # Slack refused it because of the channel (archived, not joined, not found): sent by itself
        # once the channel is usable again or the rule points elsewhere (waiting.py).
        WAITING = "waiting", "Waiting for the channel"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="slack_posts")
    delivery = models.ForeignKey("pipeline.Delivery", on_delete=models.CASCADE, related_name="slack_posts")
    event = models.ForeignKey("webhooks.InboundEvent", on_delete=models.CASCADE, related_name="slack_posts")
    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts")
    rule_name = models.CharField(max_length=120, blank=True, default="")
    event_type = models.CharField(max_length=64)
    channel_id = models.CharField(max_length=32)
    channel_name = models.CharField(max_length=120, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Which delivery attempt is posting it right now (a SENDING row from an older attempt = a worker
    # died mid-call, and we cannot know whether Slack got it).
    attempt = models.PositiveIntegerField(default=0)
    ts = models.CharField("Slack ts", max_length=32, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    # Slack's error code for a waiting post (is_archived, not_in_channel, channel_not_found).
    error_code = models.CharField(max_length=40, blank=True, default="")
    # Customer data, encrypted; the posts page finds posts through their event's blind index.
    invoice_number = EncryptedCharField(null=True, blank=True, default="")
    counterparty = EncryptedCharField(null=True, blank=True, default="")
    # The FreshBooks record the message came from, and the message itself (encrypted: client data).
    source_payload = EncryptedJSONField(null=True, blank=True)
    message = EncryptedJSONField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["delivery", "channel_id"], name="slack_one_post_per_channel")]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"], name="slack_post_tenant_status"),
            models.Index(fields=["connection", "status"], name="slack_post_connection_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → #{self.channel_name or self.channel_id} ({self.status})"

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event_type, self.event_type)
