"""Server time of the product pages on a tenant with 100,000 audit records (target: every page < 300 ms).

Makes a throwaway SQLite database in a temp dir (or uses --database-url, e.g. a scratch PostgreSQL
database you created), migrates it, bulk-creates one busy tenant (events, deliveries, audit records,
a connection that needs reconnecting with work waiting, failures to replay) plus a second tenant of
the same size, then requests each page with Django's test client and reports the median and worst
of --repeat runs after a warm-up. Exit status 1 when a page's worst time is over --budget-ms.

    .venv/bin/python bench/ui_pages.py [--audit 100000] [--events 25000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def configure(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mlconnector-bench-ui-"))
    for name in list(os.environ):
        if name.startswith(("MLCONNECTOR_", "DJANGO_")) or name in ("DATABASE_URL", "REDIS_URL"):
            del os.environ[name]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "mlconnector.settings",
            "MLCONNECTOR_VAR_DIR": str(tmp),
            "MLCONNECTOR_SQLITE_PATH": str(tmp / "bench.sqlite3"),
            "MLCONNECTOR_LOG_LEVEL": "WARNING",
        }
    )
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def seed(n_events: int, n_audit: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from mlconnector.audit.models import AuditRecord
    from mlconnector.connections.models import Connection
    from mlconnector.pipeline.models import Delivery
    from mlconnector.tenants.models import Membership, Tenant
    from mlconnector.webhooks.models import InboundEvent

    User = get_user_model()
    rng = random.Random(42)
    now = timezone.now()
    clients = ["Northwind Traders", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises"]
    K, S, ES = AuditRecord.Kind, Delivery.Status, InboundEvent.Status
    made = {}
    for slug in ("busy", "other"):
        tenant = Tenant.objects.create(name=f"{slug.title()} Books", slug=slug)
        admin = User.objects.create_user(f"{slug}-admin", f"{slug}@example.com", "bench-pass-123")
        Membership.objects.create(user=admin, tenant=tenant, role="admin")
        source = Connection.objects.create(tenant=tenant, provider="freshbooks", name="Books", status="active")
        slack = Connection.objects.create(
            tenant=tenant,
            provider="slack",
            name="Team chat",
            status="needs_reconnect",
            last_error="Slack said token_revoked",
            status_changed_at=now - timedelta(hours=3),
        )
        monday = Connection.objects.create(tenant=tenant, provider="monday", name="Board", status="active")
        events = []
        for i in range(n_events):
            kind = rng.choice(["invoice", "invoice", "invoice", "payment", "bill", "expense"])
            events.append(
                InboundEvent(
                    tenant=tenant,
                    connection=source,
                    provider="freshbooks",
                    event_type=f"{kind}.{rng.choice(['create', 'update'])}",
                    object_id=str(100000 + i),
                    dedupe_key=f"{slug}-{i}",
                    status=rng.choices([ES.PROCESSED, ES.FAILED, ES.WAITING], [96, 2, 2])[0],
                    invoice_number=f"{i:07d}" if kind == "invoice" else "",
                    counterparty=rng.choice(clients),
                    amount=Decimal(rng.randint(100, 900000)) / 100,
                    currency="USD",
                    next_attempt_at=now,
                    received_at=now - timedelta(seconds=(n_events - i) * 30),
                )
            )
        InboundEvent.objects.bulk_create(events, batch_size=2000)
        # The search index, as the pipeline writes it (invoice numbers and names are encrypted).
        from mlconnector.crypto import blind_index_keys
        from mlconnector.search import digests, terms
        from mlconnector.webhooks.models import EventSearchTerm

        key = blind_index_keys()[0]
        stored = InboundEvent.objects.filter(tenant=tenant).only("pk", "invoice_number", "counterparty")
        EventSearchTerm.objects.bulk_create(
            [
                EventSearchTerm(tenant=tenant, event_id=e.pk, term=d)
                for e in stored
                for d in digests(terms((e.invoice_number, e.counterparty)), key)
            ],
            batch_size=5000,
        )
        events = list(InboundEvent.objects.filter(tenant=tenant).only("pk", "event_type", "received_at"))
        deliveries = []
        for e in events:
            for target in (slack, monday):
                status = S.WAITING if target is slack and rng.random() < 0.02 else S.SUCCEEDED
                if target is monday and rng.random() < 0.02:
                    status = S.FAILED
                deliveries.append(
                    Delivery(
                        tenant=tenant,
                        event_id=e.pk,
                        connection=target,
                        provider=target.provider,
                        event_type=e.event_type,
                        status=status,
                        attempts=1,
                        next_attempt_at=now,
                        remote_id=str(rng.randint(10**9, 10**10)) if status == S.SUCCEEDED else "",
                        last_error="HTTP 503 Service Unavailable" if status == S.FAILED else "",
                    )
                )
        Delivery.objects.bulk_create(deliveries, batch_size=2000)
        records = []
        steps = [
            (K.WEBHOOK_ACCEPTED, "verified and stored"),
            (K.EVENT_ENRICHED, "fetched"),
            (K.HTTP, "GET"),
            (K.DELIVERY, "delivered"),
        ]
        i = 0
        while len(records) < n_audit:
            e = events[i % len(events)]
            kind, message = steps[len(records) % len(steps)]
            records.append(
                AuditRecord(
                    tenant=tenant,
                    created_at=e.received_at + timedelta(milliseconds=len(records) % 4 * 50),
                    kind=kind,
                    outcome="ok",
                    provider="freshbooks" if kind != K.DELIVERY else "monday",
                    connection=source,
                    event_id=e.pk,
                    event_type=e.event_type,
                    message=message,
                    status_code=200 if kind == K.HTTP else None,
                    duration_ms=rng.randint(20, 400) if kind == K.HTTP else None,
                )
            )
            i += 1 if len(records) % 4 == 0 else 0
        AuditRecord.objects.bulk_create(records, batch_size=2000)
        made[slug] = {"tenant": tenant, "admin": admin, "slack": slack, "events": events}
    return made


def measure(made, repeat: int):
    from django.test import Client
    from django.urls import reverse

    from mlconnector.pipeline.models import Delivery

    busy = made["busy"]
    client = Client()
    client.force_login(busy["admin"])
    middle = busy["events"][len(busy["events"]) // 2]
    some_failed = Delivery.objects.filter(tenant=busy["tenant"], status="failed").values_list("event_id", flat=True)[0]
    cursor = f"{middle.received_at.isoformat()}~{middle.pk}"
    day = middle.received_at.date().isoformat()
    pages = [
        ("home", reverse("home"), {}),
        ("connection health (needs reconnect)", reverse("connection-detail", args=[busy["slack"].pk]), {}),
        ("audit log, newest", reverse("audit-events"), {}),
        ("audit log, deep page (keyset)", reverse("audit-events"), {"after": cursor}),
        ("audit log, search client", reverse("audit-events"), {"q": "northwind"}),
        ("audit log, search, no match", reverse("audit-events"), {"q": "no such client"}),
        ("audit log, search invoice no.", reverse("audit-events"), {"q": f"{len(busy['events']) // 3:07d}"}),
        ("audit log, status failed", reverse("audit-events"), {"status": "failed"}),
        ("audit log, deliveries failed", reverse("audit-events"), {"delivery": "failed"}),
        ("audit log, provider slack", reverse("audit-events"), {"provider": "slack"}),
        (
            "audit log, type + one day",
            reverse("audit-events"),
            {"event_type": "payment.create", "since": day, "until": day},
        ),
        ("event timeline", reverse("audit-event", args=[some_failed]), {}),
        ("replay confirm (all failed)", reverse("audit-replay-failed"), {}),
        (
            "replay confirm (failed, monday)",
            reverse("audit-replay-failed"),
            {"provider": "monday", "delivery": "failed"},
        ),
        ("team", reverse("tenant-team"), {}),
    ]
    results = []
    for name, url, query in pages:
        response = client.get(url, query)
        assert response.status_code == 200, (name, response.status_code)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(url, query)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        results.append((name, statistics.median(times), max(times)))
    anon = Client()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        anon.get(reverse("login"))
        times.append((time.perf_counter() - start) * 1000)
    results.append(("login", statistics.median(times), max(times)))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audit", type=int, default=100_000, help="audit records per tenant")
    parser.add_argument("--events", type=int, default=25_000, help="events per tenant (2 deliveries each)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--budget-ms", type=float, default=300)
    parser.add_argument("--database-url", default="", help="a scratch database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    configure(args)
    from django.db import connection

    started = time.perf_counter()
    made = seed(args.events, args.audit)
    print(
        f"seeded 2 tenants x ({args.events} events, {2 * args.events} deliveries, {args.audit} audit records) "
        f"on {connection.vendor} in {time.perf_counter() - started:.0f} s"
    )
    if connection.vendor == "postgresql":
        # What autovacuum does a minute after a bulk load in production: without table statistics
        # the planner guesses, and the figures would measure the guess, not the pages.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    results = measure(made, args.repeat)
    width = max(len(name) for name, *_ in results)
    print(f"\n| {'page'.ljust(width)} | median ms | worst ms |")
    print(f"|{'-' * (width + 2)}|----------:|---------:|")
    over = []
    for name, median, worst in results:
        print(f"| {name.ljust(width)} | {median:9.1f} | {worst:8.1f} |")
        if worst > args.budget_ms:
            over.append(name)
    if over:
        print(f"\nover the {args.budget_ms:.0f} ms budget: {', '.join(over)}")
        return 1
    print(f"\nevery page under {args.budget_ms:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
