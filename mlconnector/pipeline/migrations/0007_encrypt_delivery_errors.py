"""A delivery's last error may quote the record (a provider's validation message): encrypted."""

from django.db import migrations

import mlconnector.crypto
from mlconnector.crypto_migrations import encrypt_in_place


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0006_delivery_nothing_to_send")]

    operations = encrypt_in_place(
        "pipeline",
        "delivery",
        {"last_error": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True)},
    )
