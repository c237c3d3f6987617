"""Re-encrypt every encrypted value with the first key of MLCONNECTOR_ENCRYPTION_KEYS.

Rotation: put the new key first (MLCONNECTOR_ENCRYPTION_KEYS=new,old), restart, run this command,
then drop the old key. Until it has run, rows under the old key keep decrypting.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.crypto import encrypted_fields, keyring
from mlconnector.search import reindex_all


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the current primary key."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500)

    def handle(self, *args, batch: int, **options):
        ring = keyring()
        total = rewritten = 0
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields:
                continue
            table = model._meta.db_table
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            pk = connection.ops.quote_name(model._meta.pk.column)
            last = None
            while True:
                with connection.cursor() as cur:
                    where = f"WHERE {pk} > %s" if last is not None else ""
                    cur.execute(
                        f"SELECT {pk}, {columns} FROM {connection.ops.quote_name(table)} {where} "  # noqa: S608
                        f"ORDER BY {pk} LIMIT %s",
                        ([last] if last is not None else []) + [batch],
                    )
                    rows = cur.fetchall()
                if not rows:
                    break
                last = rows[-1][0]
                for row in rows:
                    total += 1
                    stale = [
                        f
                        for f, raw in zip(fields, row[1:], strict=True)
                        if raw is not None and not ring.is_current(bytes(raw))
                    ]
                    if not stale:
                        continue
                    obj = model._base_manager.filter(pk=row[0]).only(*(f.name for f in stale)).first()
                    if obj is None:
                        continue
                    with transaction.atomic():
                        model._base_manager.filter(pk=row[0]).update(**{f.name: getattr(obj, f.name) for f in stale})
                    rewritten += 1
        # The search index's digests are keyed too: rewrite them under the new key, so the old key
        # can go (until then, searches look under every configured key).
        reindexed = reindex_all()
        record(
            AuditRecord.Kind.KEY_ROTATED,
            outcome=AuditRecord.Outcome.OK,
            message=f"re-encrypted {rewritten} of {total} rows and re-indexed {reindexed} events with the current key",
        )
        self.stdout.write(
            f"Re-encrypted {rewritten} of {total} rows holding encrypted values; re-indexed {reindexed} events."
        )
