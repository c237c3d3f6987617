"""Migration operations that turn plain columns into encrypted ones, keeping every value.

For each field: add an encrypted twin, copy the values across in batches (encrypting them), drop the
plain column, and give the twin its name. Reversible as far as the data goes: the way back copies
decrypted values into the plain column the reverse migration recreates.
"""

from __future__ import annotations

from django.db import migrations, models

BATCH = 1000


def encrypt_in_place(app_label: str, model_name: str, fields: dict[str, models.Field]) -> list:
    """`fields`: the name of each plain field -> the encrypted field that replaces it."""
    operations: list = []
    for name, field in fields.items():
        twin = f"{name}_enc"
        operations += [
            migrations.AddField(model_name, twin, field),
            migrations.RunPython(_copy(app_label, model_name, name, twin), _copy(app_label, model_name, twin, name)),
            migrations.RemoveField(model_name, name),
            migrations.RenameField(model_name, twin, name),
        ]
    return operations


def _copy(app_label: str, model_name: str, source: str, target: str):
    def run(apps, schema_editor):
        manager = apps.get_model(app_label, model_name)._base_manager
        model = manager.model
        last = 0
        while True:
            rows = list(manager.filter(pk__gt=last).order_by("pk").values_list("pk", source)[:BATCH])
            if not rows:
                return
            last = rows[-1][0]
            changed = []
            for pk, value in rows:
                if value in (None, ""):
                    continue
                obj = model(pk=pk)
                setattr(obj, target, value)
                changed.append(obj)
            if changed:
                manager.bulk_update(changed, [target])

    return run
