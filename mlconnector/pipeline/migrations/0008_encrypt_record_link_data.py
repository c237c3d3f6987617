"""What a target keeps about a remote record (Monday: the values last written) is customer data."""

from django.db import migrations

import mlconnector.crypto
from mlconnector.crypto_migrations import encrypt_in_place


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0007_encrypt_delivery_errors")]

    operations = encrypt_in_place(
        "pipeline", "recordlink", {"data": mlconnector.crypto.EncryptedJSONField(blank=True, default=dict)}
    )
