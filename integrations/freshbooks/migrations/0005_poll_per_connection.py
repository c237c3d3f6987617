"""The polling backstop runs per connection now (ConnectionJob "poll", pipeline/jobs.py), each at
the interval the connection holds: the one global schedule goes."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="freshbooks-poll").delete()


def restore(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name="freshbooks-poll",
        defaults={"func": "integrations.freshbooks.polling.poll_all", "schedule_type": "I",
                  "minutes": settings.FRESHBOOKS_POLL_MINUTES, "repeats": -1, "next_run": timezone.now()},
    )


class Migration(migrations.Migration):
    dependencies = [("freshbooks", "0004_handshake_candidates"), ("django_q", "__latest__")]
    operations = [migrations.RunPython(remove, restore)]
