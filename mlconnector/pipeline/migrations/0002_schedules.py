"""Scheduled work, created here so every environment (demo, CI, production) has it."""

from django.db import migrations
from django.utils import timezone

SCHEDULES = [
    # name, func, minutes
    ("dispatcher", "mlconnector.pipeline.dispatcher.run", 1),  # removed by 0004: the worker supervisor dispatches
    ("refresh-expiring-tokens", "mlconnector.connections.tasks.refresh_expiring", 10),
    ("prune", "mlconnector.pipeline.maintenance.prune", 24 * 60),
]


def create(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name,
            defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1, "next_run": timezone.now()},
        )


def remove(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial"), ("django_q", "__latest__")]
    operations = [migrations.RunPython(create, remove)]
