"""What ml-connector keeps about a tenant's GoCardless side: the payments it asked for (or was told
about), the payouts that paid them out, and the invoices waiting for a mandate.

Amounts, invoice numbers, client names and emails are customer data: encrypted at rest like the
core's. The month-end report adds them up in Python.
"""

from __future__ import annotations

from django.db import models

from mlconnector.crypto import EncryptedCharField, EncryptedDecimalField
from mlconnector.tenants.scoping import TenantOwned

COLLECTED = ("confirmed", "paid_out")
FAILED = ("failed", "charged_back", "cancelled", "customer_approval_denied", "late_failure_settled")
PENDING = ("pending_customer_approval", "pending_submission", "submitted")


class GcPayment(TenantOwned):
    """One GoCardless payment: asked for by ml-connector from a FreshBooks invoice, or met in an
    event (then it may match no invoice, and is flagged)."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    payment_id = models.CharField(max_length=32)
    # The FreshBooks invoice it collects for ("" when the payment names none).
    freshbooks_account = models.CharField(max_length=64, blank=True, default="")
    invoice_id = models.CharField(max_length=32, blank=True, default="")
    invoice_number = EncryptedCharField(null=True, blank=True, default="")
    counterparty = EncryptedCharField(null=True, blank=True, default="")
    amount = EncryptedDecimalField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    charge_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=32)
    # The Idempotency-Key it was created with ("" for a payment made elsewhere).
    idempotency_key = models.CharField(max_length=200, blank=True, default="")
    payout_id = models.CharField(max_length=32, blank=True, default="")
    fees = EncryptedDecimalField(null=True, blank=True)
    # The FreshBooks payment recorded for it, and whether that was reversed.
    posted_payment_id = models.CharField(max_length=32, blank=True, default="")
    posted_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    # Why it was not posted (no invoice, invoice already paid, amount mismatch, ...): "" when fine.
    flag = models.CharField(max_length=300, blank=True, default="")
    flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "payment_id"], name="gc_one_payment")]
        indexes = [models.Index(fields=["connection", "invoice_id"], name="gc_payment_invoice")]

    def __str__(self) -> str:
        return f"{self.payment_id} ({self.status})"

    @property
    def collected(self) -> bool:
        return self.status in COLLECTED


class GcPayout(TenantOwned):
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    payout_id = models.CharField(max_length=32)
    amount = EncryptedDecimalField(null=True, blank=True)  # net, what reaches the bank
    deducted_fees = EncryptedDecimalField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    arrival_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16)
    reference = models.CharField(max_length=140, blank=True, default="")
    # The FreshBooks expense its fees were recorded as.
    expense_id = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrival_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "payout_id"], name="gc_one_payout")]

    def __str__(self) -> str:
        return f"{self.payout_id} ({self.status})"


class MandateRequest(TenantOwned):
    """An invoice that could not be collected because its client has no usable mandate: on the
    "needs a mandate" list until a mandate appears (then its delivery goes on by itself)."""

    class Kind(models.TextChoices):
        MANDATE = "mandate", "Needs a mandate"
        DECISION = "decision", "Needs a person to decide"

    class Status(models.TextChoices):
        OPEN = "open", "Needs a mandate"
        LINK_SENT = "link", "Link created"
        RESOLVED = "resolved", "Mandate in place"
        CLOSED = "closed", "No longer needed"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    delivery = models.ForeignKey(
        "pipeline.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invoice_id = models.CharField(max_length=32)
    # A mandate to set up, or a person to decide (an invoice matching several subscription payments).
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANDATE)
    invoice_number = EncryptedCharField(null=True, blank=True, default="")
    freshbooks_client_id = models.CharField(max_length=32, blank=True, default="")
    client_name = EncryptedCharField(null=True, blank=True, default="")
    email = EncryptedCharField(null=True, blank=True, default="")
    amount = EncryptedDecimalField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    customer_id = models.CharField(max_length=32, blank=True, default="")
    reason = models.CharField(max_length=300)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    billing_request_id = models.CharField(max_length=32, blank=True, default="")
    # GoCardless's hosted page for the client (its URL carries a token: encrypted).
    flow_url = EncryptedCharField(null=True, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "invoice_id"], name="gc_one_mandate_request")]

    def __str__(self) -> str:
        return f"invoice {self.invoice_id}: {self.get_status_display()}"
