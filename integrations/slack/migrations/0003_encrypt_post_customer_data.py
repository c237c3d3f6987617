"""A post's invoice number and client name are customer data: encrypted in place."""

from django.db import migrations

import mlconnector.crypto
from mlconnector.crypto_migrations import encrypt_in_place


class Migration(migrations.Migration):
    dependencies = [("slack", "0002_post_waits_for_channel")]

    operations = encrypt_in_place(
        "slack",
        "slackpost",
        {
            "invoice_number": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
            "counterparty": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
        },
    )
