"""What ml-connector keeps per HubSpot connection to fill the balance properties without asking anyone:
one ledger entry per FreshBooks invoice and payment it has seen, keyed by the FreshBooks client."""

from __future__ import annotations

from django.db import models

from mlconnector.crypto import EncryptedJSONField
from mlconnector.tenants.scoping import TenantOwned


class LedgerEntry(TenantOwned):
    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Payment"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source_id = models.CharField(max_length=64)
    client_id = models.CharField(max_length=64, db_index=True)
    # Amounts, dates and status: customer data, so encrypted ({amount, outstanding, currency, due_date, status, date}).
    data = EncryptedJSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "kind", "source_id"], name="one_ledger_entry")]
        indexes = [models.Index(fields=["connection", "client_id"], name="ledger_client")]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id} of client {self.client_id}"
