"""Backfill N FreshBooks clients and N invoices into the sandbox HubSpot at 190 requests / 10 s, shared
by two worker processes, one of them killed mid-way: records per second against the rate-limit bound.

# Run: `make bench-hubspot` (= .venv/bin/python bench/hubspot_backfill.py [--clients 10000]
# [--invoices 10000] [--burst 190] [--workers 2] [--kill-after 25]). On demand only, never in the tests.
#
# A fresh SQLite database (WAL) in a temporary directory shared by every process. The FreshBooks and
# HubSpot sandboxes answer in-process in each worker (the real clients, the real fakes, their state in
# the shared database: the HubSpot burst window is counted across processes). A tenant with a
# FreshBooks connection and a HubSpot connection made through the real connect code; "Backfill from
# FreshBooks" started as the button does. Each worker process runs the dispatcher's tick with django-q2
# in sync mode (every handed-out task runs in that process): two processes write in parallel, the
# budget is shared through the database limiter, and claims and leases keep them apart. After
# --kill-after seconds one worker is SIGKILLed and a new one started; the dead one's lease expires
# (MLCONNECTOR_LEASE_SECONDS=30 here: no supervisor renews leases in this bench) and its work is taken up again.
#
# Reported: records per second, HubSpot calls per second against the bound (burst / 10 s; target
# ≥ 0.9 of it while writing), write calls per object type (target ≤ 100 per 10,000 records), 429s
# (the sandbox's count: any is a pacing miss; none may end a delivery "failed"), and duplicates
# (HubSpot records per FreshBooks id: target 0 extra after the kill).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure(var_dir: str) -> None:
    os.environ["MLCONNECTOR_VAR_DIR"] = var_dir
    os.environ["MLCONNECTOR_SQLITE_PATH"] = str(Path(var_dir) / "bench.sqlite3")
    os.environ["MLCONNECTOR_PUBLIC_URL"] = "http://testserver"
    os.environ["MLCONNECTOR_HTTP_TRANSPORT"] = "integrations.sandbox.inprocess.mount_inprocess"
    os.environ["MLCONNECTOR_Q_SYNC"] = "1"
    os.environ["MLCONNECTOR_LEASE_SECONDS"] = "30"
    os.environ["MLCONNECTOR_LOG_LEVEL"] = "WARNING"
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

    settings.MLCONNECTOR_SANDBOX_INPROCESS = True
    logging.disable(logging.WARNING)


class _Request:
    user = None


def setup(clients: int, invoices: int, burst: int) -> None:
    from django.conf import settings
    from django.core.management import call_command

    from integrations.freshbooks.sandbox import records, seed_demo
    from integrations.freshbooks.sandbox.state import KINDS, PROVIDER, issue_tokens
    from integrations.hubspot import sandbox
    from integrations.hubspot.connect import connect_with_token
    from integrations.sandbox import tokens
    from mlconnector.connections.models import Connection
    from mlconnector.pipeline import backfill
    from mlconnector.tenants.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    demo = seed_demo()
    account = demo.businesses[0]
    started = time.monotonic()
    made = []
    for n in range(clients):
        record, _ = records.create(
            account,
            KINDS["client"],
            {"organization": f"Shop {n:05d}", "fname": "Pat", "lname": f"N{n}", "email": f"shop{n}@bench.example"},
        )
        made.append(record["id"])
    for n in range(invoices):
        line = {"name": "Work", "qty": "1", "unit_cost": {"amount": f"{100 + n % 900}.00"}}
        records.create(account, KINDS["invoice"], {"customerid": made[n % len(made)], "lines": [line], "status": 2})
    print(
        f"seeded {clients} clients and {invoices} invoices in FreshBooks in {time.monotonic() - started:.0f}s",
        flush=True,
    )

    tenant = Tenant.objects.create(name="Bench Ltd", slug="bench")
    app = tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID)
    issued = issue_tokens(demo.identity, app, " ".join(settings.FRESHBOOKS_SCOPES))
    Connection.objects.create(
        tenant=tenant,
        provider="freshbooks",
        name="Bench books",
        status="active",
        credentials={"access_token": issued["access_token"], "refresh_token": issued["refresh_token"]},
        config={"account_id": account.key, "business_name": account.name},
        external_account_id=account.key,
    )
    sandbox.reset()
    sandbox.set_limits(burst=burst)
    hubspot = connect_with_token(_Request(), tenant, sandbox.issue_token(name="bench"), None, str(sandbox.DEMO_HUB_ID))
    # Only the backfill writes: no polling backstop, no daily check while measuring.
    from datetime import timedelta

    from django.utils import timezone

    from mlconnector.pipeline.models import ConnectionJob

    ConnectionJob.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    backfill.start(hubspot, record_types=["client", "invoice"])


def worker() -> None:
    """One worker process: the dispatcher's tick, its tasks run here (django-q2 sync mode)."""
    from mlconnector.pipeline import dispatcher
    from mlconnector.pipeline.models import Backfill, Delivery

    while True:
        counts = dispatcher.tick()
        if not any(counts.values()):
            open_work = Delivery.objects.exclude(status__in=["succeeded", "failed", "skipped"]).exists()
            if not open_work and not Backfill.objects.exclude(status__in=["listed", "failed", "cancelled"]).exists():
                return
            time.sleep(0.05)


def report(started: float, finished: float, burst: int, calls_before: int, kill_note: str) -> None:
    from collections import Counter

    from integrations.hubspot import sandbox
    from integrations.hubspot.sandbox import objects as crm
    from mlconnector.pipeline.models import Backfill, Delivery

    stats = sandbox.stats()
    elapsed = finished - started
    calls = stats.get("calls", 0) - calls_before
    bound = burst / 10
    job = Backfill.objects.get()
    statuses = Counter(Delivery.objects.values_list("status", flat=True))
    account = sandbox.portal()
    dupes = {}
    for otype, prop in (("contacts", "freshbooks_client_id"), ("invoices", "freshbooks_invoice_id")):
        ids = Counter(r.data["properties"].get(prop) for r in crm.rows(account, crm.TYPES[otype]).only("data"))
        dupes[otype] = sum(c - 1 for c in ids.values() if c > 1)
    records_done = statuses.get("succeeded", 0)
    print()
    print(f"backfill: {job.listed} records listed, {job.queued} queued; deliveries {dict(statuses)}")
    print(f"time writing: {elapsed:.1f}s  records/s: {records_done / elapsed:.1f}")
    print(
        f"HubSpot calls: {calls} = {calls / elapsed:.2f}/s against a bound of {bound:.1f}/s"
        f" -> {calls / elapsed / bound:.3f} of the bound"
    )
    print(
        f"records per call: {records_done / max(1, calls):.1f}"
        f" -> records/s bound {bound * records_done / max(1, calls):.0f}"
    )
    for otype in ("contacts", "companies", "invoices", "line_items", "commerce_payments", "associations"):
        writes, inputs = stats.get(f"writes_{otype}", 0), stats.get(f"inputs_{otype}", 0)
        ops = ", ".join(
            f"{op} {stats[f'writes_{otype}_{op}']}"
            for op in ("create", "upsert", "update")
            if stats.get(f"writes_{otype}_{op}")
        )
        if writes:
            print(
                f"  {otype:18} {writes:5} write calls for {inputs:6} inputs"
                f" = {writes * 10_000 / max(1, inputs):.0f} per 10,000 ({ops or 'associate'})"
            )
    print(
        f"429s: burst {stats.get('429_burst', 0)}, daily {stats.get('429_daily', 0)};"
        f" failed deliveries: {statuses.get('failed', 0)}"
    )
    print(f"{kill_note}; duplicates in HubSpot: {dupes}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--burst", type=int, default=190)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-after", type=float, default=25.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--var", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        configure(args.var)
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            cProfile.runctx("worker()", globals(), locals(), f"{args.var}/worker-{os.getpid()}.prof")
        else:
            worker()
        return
    var_dir = tempfile.mkdtemp(prefix="bench-hubspot-")
    configure(var_dir)
    setup(args.clients, args.invoices, args.burst)
    from integrations.hubspot import sandbox

    calls_before = sandbox.stats().get("calls", 0)
    command = [sys.executable, __file__, "--worker", "--var", var_dir]
    procs = [subprocess.Popen(command) for _ in range(args.workers)]  # noqa: S603
    started = time.monotonic()
    kill_note = "no worker killed"
    while any(p.poll() is None for p in procs):
        time.sleep(0.5)
        if args.kill_after and kill_note == "no worker killed" and time.monotonic() - started > args.kill_after:
            victim = procs[0]
            if victim.poll() is None:
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                procs.append(subprocess.Popen(command))  # noqa: S603
                kill_note = f"worker {victim.pid} SIGKILLed at {time.monotonic() - started:.0f}s and replaced"
    finished = time.monotonic()
    print(f"state kept in {var_dir}")
    report(started, finished, args.burst, calls_before, kill_note)


if __name__ == "__main__":
    main()
