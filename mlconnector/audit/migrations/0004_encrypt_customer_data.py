"""Audit messages, invoice numbers and call URLs name clients, amounts and invoices: encrypted."""

from django.db import migrations

import mlconnector.crypto
from mlconnector.crypto_migrations import encrypt_in_place


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_alter_auditrecord_kind")]

    operations = [
        migrations.RemoveIndex(model_name="auditrecord", name="audit_tenant_invoice"),
        *encrypt_in_place(
            "audit",
            "auditrecord",
            {
                "invoice_number": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
                "url": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
                "message": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
            },
        ),
    ]
