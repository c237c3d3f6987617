"""Invoice numbers, client names, amounts and error texts of events are customer data: encrypted, and
found through a keyed blind index (mlconnector/search.py) built here for the events already stored."""

from django.db import migrations, models

import mlconnector.crypto
from mlconnector.crypto_migrations import encrypt_in_place


def build_index(apps, schema_editor):
    from mlconnector.search import digests, terms
    from mlconnector.crypto import blind_index_keys

    Event = apps.get_model("webhooks", "InboundEvent")
    Term = apps.get_model("webhooks", "EventSearchTerm")
    primary = blind_index_keys()[0]
    rows = []
    for event in Event._base_manager.only("pk", "tenant_id", "invoice_number", "counterparty").iterator(chunk_size=500):
        for digest in digests(terms((event.invoice_number, event.counterparty)), primary):
            rows.append(Term(tenant_id=event.tenant_id, event_id=event.pk, term=digest))
        if len(rows) > 5000:
            Term.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    Term.objects.bulk_create(rows, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0004_backfill"), ("tenants", "0002_invitations")]

    operations = [
        migrations.RemoveIndex(model_name="inboundevent", name="inbound_tenant_invoice"),
        *encrypt_in_place(
            "webhooks",
            "inboundevent",
            {
                "invoice_number": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
                "counterparty": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
                "amount": mlconnector.crypto.EncryptedDecimalField(blank=True, null=True),
                "last_error": mlconnector.crypto.EncryptedCharField(blank=True, default="", null=True),
            },
        ),
        migrations.CreateModel(
            name="EventSearchTerm",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("term", models.CharField(max_length=32)),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE, related_name="+", to="webhooks.inboundevent"
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(on_delete=models.deletion.CASCADE, related_name="+", to="tenants.tenant"),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["tenant", "term"], name="search_tenant_term")],
                "constraints": [models.UniqueConstraint(fields=("event", "term"), name="one_search_term_per_event")],
            },
        ),
        migrations.RunPython(build_index, migrations.RunPython.noop),
    ]
