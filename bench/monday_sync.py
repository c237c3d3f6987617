"""Invoice events → Monday items under a binding complexity budget: items/minute against the budget's bound.

# Run: `make bench-monday` (= .venv/bin/python bench/monday_sync.py [--events 2000] [--window 6]
# [--per-window 40]). On demand only, never in the tests.
#
# One process, a fresh SQLite database in a temporary directory, the Monday sandbox served
# in-process (the real MondayClient, the real GraphQL endpoint: parse, validate, cost, charge,
# execute). A tenant with a Monday connection (personal token) and an invoices board map saved
# through the editor's form; N invoice.create events stored with a Delivery each, as the fan-out
# would have left them. A worker loop runs whatever delivery is due through the pipeline's
# deliver() and otherwise sleeps until the next one is due, like a qcluster worker with the
# database sweeper.
#
# The budget is set so that only `--per-window` items fit in one window. Monday's window is
# 60 s; to keep the run short the sandbox's window is scaled down to `--window` seconds (its
# module constant sandbox.complexity.WINDOW_SECONDS, patched in this process) and the bound is
# scaled the same way: bound items/minute = per-window × 60 / window. The budget is an exact
# multiple of a create's cost plus half a create, so reads (board structure, amortised by the
# cache) fit in the slack without moving the bound.
#
# Reported: items written per minute and the ratio to the bound (target ≥ 0.9), API calls and
# mutations per event (target ≤ 1 mutation per event plus amortised reads), calls Monday refused
# for the budget, deliveries deferred by our own budget tracking, and failures (target 0).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CREATE_COST = 10_003  # the sandbox's cost model: create_item { id name } = 1 + 1×(1+1) + 10,000


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
    settings.MLCONNECTOR_SANDBOX_INPROCESS = True  # the sandbox answers in this process, no socket
    settings.MLCONNECTOR_HTTP_TRANSPORT = "integrations.sandbox.inprocess.mount_inprocess"
    logging.disable(logging.INFO)  # one audit line per call would dominate the measurement


def setup(events: int, per_window: int):
    from django.core.management import call_command
    from django.utils import timezone

    from integrations.monday import boards, sandbox
    from integrations.monday.client import MondayClient
    from integrations.monday.forms import BoardMapForm
    from integrations.monday.oauth import connect
    from mlconnector.connections.models import Connection
    from mlconnector.pipeline.models import Delivery
    from mlconnector.tenants.models import Tenant
    from mlconnector.webhooks.models import InboundEvent

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    sandbox.reset()
    tenant = Tenant.objects.create(name="Bench Ltd", slug="bench")
    monday = connect(
        tenant,
        credentials={"access_token": sandbox.issue_personal_token("bench")},
        token_expires_at=None,
        actor=None,
        reconnect=None,
    )
    board_id = sandbox.board("Invoices")["id"]
    board = boards.fetch(MondayClient(monday), board_id, fresh=True)
    ids = {c.title: c.id for c in board.columns.values()}
    form = BoardMapForm(
        {
            "group": "topics",
            "col_client_name": ids["Client"],
            "col_invoice_number": ids["Invoice number"],
            "col_amount": ids["Amount"],
            "col_due_date": ids["Due date"],
            "col_status": ids["Status"],
            "label_sent": "Sent",
            "label_paid": "Paid",
        },
        record_type="invoice",
        board=board,
        board_map=None,
    )
    assert form.is_valid(), form.errors
    form.save(monday, actor=None)
    source = Connection.objects.create(
        tenant=tenant, provider="freshbooks", name="Bench books", status="active", external_account_id="BENCH1"
    )
    now = timezone.now()
    event_rows = [
        InboundEvent(
            tenant=tenant,
            connection=source,
            provider="freshbooks",
            event_type="invoice.create",
            object_id=str(500_000 + n),
            dedupe_key=f"bench-{n}",
            status=InboundEvent.Status.PROCESSED,
            invoice_number=f"B{n:06d}",
            payload={
                "id": 500_000 + n,
                "accountid": "BENCH1",
                "invoice_number": f"B{n:06d}",
                "organization": f"Client {n % 97}",
                "amount": {"amount": f"{100 + n}.25", "code": "USD"},
                "outstanding": {"amount": f"{100 + n}.25", "code": "USD"},
                "v3_status": "sent",
                "due_date": "2026-12-31",
                "create_date": "2026-11-21",
            },
            next_attempt_at=now,
            received_at=now,
        )
        for n in range(events)
    ]
    stored = InboundEvent.objects.bulk_create(event_rows, batch_size=500)
    Delivery.objects.bulk_create(
        [
            Delivery(
                tenant=tenant,
                event=e,
                connection=monday,
                provider="monday",
                event_type=e.event_type,
                status=Delivery.Status.PENDING,
                next_attempt_at=now,
            )
            for e in stored
        ],
        batch_size=500,
    )
    sandbox.set_complexity_budget(per_window * CREATE_COST + CREATE_COST // 2)
    sandbox.reset_complexity_windows()
    from integrations.monday import budget

    budget.forget(monday.external_account_id)  # what setup learnt was about the old budget
    return monday


def work(limit_seconds: float) -> dict:
    """The worker: run every due delivery, sleep until the next is due, until none is left."""
    from django.utils import timezone

    from mlconnector.pipeline.delivery import deliver
    from mlconnector.pipeline.models import Delivery

    S = Delivery.Status
    outcomes: dict[str, int] = {}
    started = time.monotonic()
    first_write = last_write = None
    while time.monotonic() - started < limit_seconds:
        due = list(
            Delivery.objects.filter(status__in=[S.PENDING, S.RETRYING], next_attempt_at__lte=timezone.now())
            .order_by("next_attempt_at", "id")
            .values_list("pk", flat=True)[:200]
        )
        if not due:
            nxt = (
                Delivery.objects.filter(status__in=[S.PENDING, S.RETRYING])
                .order_by("next_attempt_at")
                .values_list("next_attempt_at", flat=True)
                .first()
            )
            if nxt is None:
                break
            time.sleep(max(0.01, (nxt - timezone.now()).total_seconds()))
            continue
        for pk in due:
            result = deliver(pk)
            outcomes[result] = outcomes.get(result, 0) + 1
            if result == "succeeded":
                last_write = time.monotonic()
                first_write = first_write or last_write
            if result == "deferred":
                break  # the budget is spent: everything else waits for the same reset
    return {"outcomes": outcomes, "elapsed": time.monotonic() - started, "first": first_write, "last": last_write}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--window", type=float, default=6.0, help="sandbox complexity window, seconds (Monday: 60)")
    parser.add_argument("--per-window", type=int, default=40, help="creates that fit in one window's budget")
    parser.add_argument("--limit", type=float, default=1800, help="give up after this many seconds")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mlc-bench-monday-") as var_dir:
        configure(var_dir)
        from integrations.monday import sandbox
        from integrations.monday.sandbox import complexity as sandbox_complexity
        from mlconnector.pipeline.models import Delivery

        sandbox_complexity.WINDOW_SECONDS = args.window
        print(f"setting up {args.events} invoice events ...", flush=True)
        setup(args.events, args.per_window)
        before = sandbox.stats()
        print(
            f"budget {args.per_window * CREATE_COST + CREATE_COST // 2:,} points per {args.window:g}s window "
            f"(create_item costs {CREATE_COST:,}: {args.per_window} per window); running ...",
            flush=True,
        )
        run = work(args.limit)
        after = sandbox.stats()
        delta = {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}
        statuses = {status: Delivery.objects.filter(status=status).count() for status in Delivery.Status.values}
        written = statuses["succeeded"]
        elapsed = run["elapsed"]
        bound = args.per_window * 60 / args.window
        rate = written / (elapsed / 60) if elapsed > 0 else 0.0
        # A run that began W windows could write at most per_window × W items: compare with that.
        windows = max(1, math.ceil(elapsed / args.window - 1e-9))
        ratio = written / (windows * args.per_window)
        print()
        print(f"window scaled: {args.window:g}s instead of Monday's 60s (sandbox.complexity.WINDOW_SECONDS)")
        print(f"items written:          {written} of {args.events} ({statuses['failed']} failed)")
        print(f"elapsed:                {elapsed:.1f}s = {windows} windows begun")
        print(f"items/minute:           {rate:,.0f}")
        print(f"budget-bound rate:      {bound:,.0f} items/minute ({args.per_window} per {args.window:g}s window)")
        print(
            f"ratio to the bound:     {ratio:.3f} = {written} / ({windows} windows × {args.per_window}) (target ≥ 0.9)"
        )
        print(f"API calls per event:    {delta.get('calls', 0) / max(1, args.events):.3f}")
        print(f"mutations per event:    {delta.get('mutations', 0) / max(1, args.events):.3f} (target ≤ 1)")
        print(f"reads (amortised):      {delta.get('calls', 0) - delta.get('mutations', 0)}")
        print(f"refused for budget:     {delta.get('complexity_429s', 0)} call(s) Monday refused (handled: deferred)")
        print(f"deferred by tracking:   {run['outcomes'].get('deferred', 0)} (waited for the reset without calling)")
        print(f"failed deliveries:      {statuses['failed']} (target 0)")
        print(f"outcomes:               {run['outcomes']}")


if __name__ == "__main__":
    main()
