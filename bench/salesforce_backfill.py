"""Backfill 10,000 FreshBooks clients and 10,000 invoices into the sandbox Salesforce: records per API call.

# Run: `make bench-salesforce` (= .venv/bin/python bench/salesforce_backfill.py [--clients 10000]
# [--invoices 10000]). On demand only, never in the tests.
#
# One process, a fresh SQLite database in a temporary directory, both sandboxes served in-process
# (the real FreshBooks and Salesforce clients, the real fakes). The FreshBooks sandbox gets N clients
# and M invoices (each invoice for one of the clients); a tenant connects FreshBooks (sandbox tokens)
# and Salesforce (the connect form's code path: token, versions, limits, describe, stages). Then
# "Backfill from FreshBooks" runs as the worker would: every backfill step (one FreshBooks page of
# 100 records), then the due deliveries in the dispatcher's batches of the connection's batch size
# (200), through the pipeline's deliver_batch() and the integration's sObject Collections upserts.
#
# Reported: records written, Salesforce API calls during the backfill (the sandbox counts every call
# against the org's daily allowance, as Salesforce does), records per call (target: at least 190 of
# the 200 a collection call allows), collection calls, the share of the daily allowance used, failed
# deliveries (target 0) and the time taken.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure(var_dir: str) -> None:
    os.environ["MLCONNECTOR_VAR_DIR"] = var_dir
    os.environ["MLCONNECTOR_PUBLIC_URL"] = "http://testserver"
    os.environ.setdefault("MLCONNECTOR_ENCRYPTION_KEY", "bench-encryption-key-not-secret-000000000")
    os.environ.setdefault("MLCONNECTOR_SECRET_KEY", "bench-secret-key-not-secret-0000000000000000000")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "mlconnector.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    from django.conf import settings

    settings.MLCONNECTOR_SANDBOX = True
    settings.MLCONNECTOR_SANDBOX_INPROCESS = True  # the sandboxes answer in this process, no socket
    settings.MLCONNECTOR_HTTP_TRANSPORT = "integrations.sandbox.inprocess.mount_inprocess"
    settings.ALLOWED_HOSTS = ["testserver"]
    logging.disable(logging.INFO)  # one audit line per call would dominate the measurement


def _fill(account, kind: str, count: int, vary, template: dict | None = None) -> list[int]:
    """`count` FreshBooks records of a kind: one made through the sandbox's own code, the rest copies
    of it inserted in bulk under their own ids (making 20,000 one by one took minutes)."""
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS, PROVIDER
    from integrations.sandbox.models import SandboxObject

    spec = KINDS[kind]
    first, _ = records.create(account, spec, {**(template or {}), **vary(0, 0)})
    rows = SandboxObject.objects.bulk_create(
        [
            SandboxObject(provider=PROVIDER, account=account, kind=kind, object_id=f"bench-{kind}-{n}", data={})
            for n in range(1, count)
        ],
        batch_size=1000,
    )
    for n, row in enumerate(rows, 1):
        object_id = spec.id_base + row.pk
        row.object_id = str(object_id)
        row.data = {**first, **dict.fromkeys(spec.id_keys, object_id), **vary(n, object_id)}
    SandboxObject.objects.bulk_update(rows, ["object_id", "data"], batch_size=1000)
    return [first["id"], *(int(r.object_id) for r in rows)]


def setup(clients: int, invoices: int):
    from django.conf import settings
    from django.core.management import call_command

    from integrations.freshbooks.sandbox import seed_demo
    from integrations.freshbooks.sandbox.state import PROVIDER, issue_tokens
    from integrations.salesforce import sandbox as sf
    from integrations.salesforce.connect import connect
    from integrations.sandbox import tokens
    from mlconnector.connections.models import Connection
    from mlconnector.tenants.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    demo = seed_demo()
    account = demo.businesses[0]
    started = time.monotonic()
    client_ids = _fill(
        account,
        "client",
        clients,
        lambda n, oid: {"organization": f"Bench Client {n:05d}", "email": f"ap{n}@bench.example"},
    )
    _fill(
        account,
        "invoice",
        invoices,
        lambda n, oid: {
            "invoice_number": f"B{n:06d}",
            "customerid": client_ids[n % len(client_ids)],
            "organization": f"Bench Client {n % len(client_ids):05d}",
        },
        template={
            "customerid": client_ids[0],
            "lines": [{"name": "Consulting", "qty": "1", "unit_cost": {"amount": "250.25"}}],
            "status": 2,
        },
    )
    print(f"FreshBooks sandbox: {clients} clients and {invoices} invoices made in {time.monotonic() - started:.0f}s")
    tenant = Tenant.objects.create(name="Bench Ltd", slug="bench")
    app = tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID)
    issued = issue_tokens(demo.identity, app, " ".join(settings.FRESHBOOKS_SCOPES))
    Connection.objects.create(
        tenant=tenant,
        provider="freshbooks",
        name="Demo Books Ltd",
        status=Connection.Status.ACTIVE,
        credentials={"access_token": issued["access_token"], "refresh_token": issued["refresh_token"]},
        config={"account_id": account.key, "business_name": "Demo Books Ltd"},
        external_account_id=account.key,
    )
    sf.reset()
    target = connect(
        tenant,
        my_domain=f"https://{sf.DEMO_HOST}",
        key=sf.CONSUMER_KEY,
        secret=sf.CONSUMER_SECRET,
        actor=None,
        reconnect=None,
    )
    return target


def run(target) -> dict:
    from integrations.salesforce import sandbox as sf
    from mlconnector.pipeline import backfill
    from mlconnector.pipeline.delivery import deliver_batch
    from mlconnector.pipeline.models import Backfill, Delivery

    size = target.integration.batch_size
    sf.set_api_usage(0)  # count the backfill's calls only (connecting made a few)
    started = time.monotonic()
    job = backfill.start(target)
    batches = 0
    while True:
        job.refresh_from_db()
        if job.status in (Backfill.Status.PENDING, Backfill.Status.RETRYING):
            Backfill.objects.filter(pk=job.pk).update(next_attempt_at=job.created_at)
            backfill.run_step(job.pk)
            continue
        due = list(
            Delivery.objects.filter(connection=target, status__in=["pending", "retrying"])
            .order_by("id")
            .values_list("pk", flat=True)[:size]
        )
        if not due:
            break
        deliver_batch(due)
        batches += 1
    used, limit = sf.api_usage()
    counts = {s: Delivery.objects.filter(connection=target, status=s).count() for s in ("succeeded", "failed")}
    return {"elapsed": time.monotonic() - started, "calls": used, "limit": limit, "batches": batches, **counts}


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlc-bench-sf-") as var_dir:
        configure(var_dir)
        target = setup(args.clients, args.invoices)
        from mlconnector.audit.models import AuditRecord

        result = run(target)
        collection = sum(
            1
            for r in AuditRecord.objects.filter(kind="http", provider="salesforce").only("url")
            if "/composite/sobjects/" in r.url
        )
        records = result["succeeded"]
        per_call = records / result["calls"] if result["calls"] else 0.0
        print(f"Records written to Salesforce: {records} ({args.clients} Accounts, {args.invoices} Opportunities)")
        print(f"Salesforce API calls during the backfill: {result['calls']} ({collection} sObject Collections calls)")
        print(f"Records per API call: {per_call:.1f} of the 200 a collection call allows (target >= 190)")
        print(
            f"Daily API allowance: {result['calls']:,} of {result['limit']:,} requests "
            f"({100 * result['calls'] / result['limit']:.2f}%)"
        )
        print(
            f"Failed deliveries: {result['failed']} (target 0); {result['batches']} batches in {result['elapsed']:.0f}s"
        )


if __name__ == "__main__":
    main()
