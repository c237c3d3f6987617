"""A worker SIGKILLed after GoCardless made the payment and before ml-connector committed anything:
the delivery is taken up again, sends the same Idempotency-Key, and finds the payment GoCardless
already made. Then the same on the way back: a worker killed after FreshBooks recorded the
collected payment. Exactly one GoCardless payment and exactly one FreshBooks payment (a real
qcluster; SQLite, and PostgreSQL + Redis in CI)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from integrations.gocardless.models import GcPayment
from integrations.gocardless.sandbox.state import rows
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent
from tests.factories import TenantFactory
from tests.gocardless.helpers import World, gc_connection
from tests.live.processes import kill, process_env, qcluster, wait_for

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]


def test_a_worker_killed_between_gocardlesss_answer_and_our_commit_makes_exactly_one_payment(live_server, tmp_path):
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS
    from integrations.sandbox.models import SandboxAccount
    from tests.freshbooks.helpers import sandbox_source
    from tests.gocardless.helpers import client_id

    tenant = TenantFactory()
    books = sandbox_source(tenant)
    gc, _ = gc_connection(tenant)
    business = SandboxAccount.objects.get(provider="freshbooks", key="DEMO01")
    org = SandboxAccount.objects.get(provider="gocardless", key="OR0000DEMO01")
    rows(org, "webhook_endpoint").delete()  # no webhooks in this test: only the payment counts
    w = World(books=books, gc=gc, org=org, business=business, secret="")
    invoice, _ = records.create(
        business,
        KINDS["invoice"],
        {
            "customerid": client_id(business, "Northwind Traders"),
            "status": 2,
            "lines": [{"name": "Work", "qty": "1", "unit_cost": {"amount": "250.00"}}],
        },
    )
    now = timezone.now()
    event = InboundEvent.objects.create(
        tenant=tenant,
        connection=w.books,
        provider="freshbooks",
        event_type="invoice.create",
        object_id=str(invoice["id"]),
        account_id="DEMO01",
        dedupe_key=f"live-{invoice['id']}",
        status=InboundEvent.Status.PROCESSED,
        payload=invoice,
        next_attempt_at=now,
        received_at=now,
    )
    delivery = Delivery.objects.create(
        tenant=tenant,
        event=event,
        connection=gc,
        provider="gocardless",
        event_type="invoice.create",
        next_attempt_at=now,
    )
    # GoCardless makes the payment, then stalls before answering: the worker dies in that window.
    faults.add(
        "gocardless-after",
        kind=SandboxFault.Kind.DELAY,
        match="POST /sandbox/gocardless/sandbox/payments",
        delay_seconds=8,
    )

    with qcluster(process_env(live_server.url), tmp_path / "qcluster.log") as proc:
        async_task("mlconnector.pipeline.delivery.deliver", delivery.pk, sync=False)
        wait_for(lambda: rows(org, "payment").count() == 1, timeout=45, what="GoCardless's payment")
        kill(proc)

    delivery.refresh_from_db()
    assert delivery.status == "running" and not GcPayment.objects.exists()  # nothing of ours committed
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    dispatcher.tick()

    delivery.refresh_from_db()
    assert delivery.status == "succeeded", delivery.last_error
    [payment] = [r.data for r in rows(org, "payment")]
    assert GcPayment.objects.get().payment_id == payment["id"] == delivery.remote_id
    assert AuditRecord.objects.filter(kind=AuditRecord.Kind.WORKER_DIED, delivery=delivery).exists()

    # The way back: confirmed at GoCardless, recorded in FreshBooks by a worker that dies after
    # FreshBooks wrote the payment and before it answered.
    from integrations.gocardless.integration import GoCardless
    from integrations.gocardless.sandbox import move_payment
    from mlconnector.http import AuditContext
    from tests.gocardless.helpers import fb_payments

    move_payment(org, payment["id"], "submit")
    move_payment(org, payment["id"], "confirm")
    enriched = GoCardless(gc).enrich("payments.confirmed", payment["id"], AuditContext(tenant=tenant, connection=gc))
    now = timezone.now()
    confirmed = InboundEvent.objects.create(
        tenant=tenant,
        connection=gc,
        provider="gocardless",
        event_type="payments.confirmed",
        object_id=payment["id"],
        dedupe_key="once:live-confirmed",
        status=InboundEvent.Status.PROCESSED,
        payload=enriched.record,
        next_attempt_at=now,
        received_at=now,
    )
    back = Delivery.objects.create(
        tenant=tenant,
        event=confirmed,
        connection=books,
        provider="freshbooks",
        event_type="payments.confirmed",
        next_attempt_at=now,
    )
    faults.add("freshbooks-after", kind=SandboxFault.Kind.DELAY, match="POST", delay_seconds=8)
    with qcluster(process_env(live_server.url), tmp_path / "qcluster-back.log") as proc:
        async_task("mlconnector.pipeline.delivery.deliver", back.pk, sync=False)
        wait_for(lambda: len(fb_payments(business, invoice["id"])) == 1, timeout=45, what="FreshBooks's payment")
        kill(proc)
    back.refresh_from_db()
    assert back.status == "running"
    Delivery.objects.filter(pk=back.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    dispatcher.tick()
    back.refresh_from_db()
    assert back.status == "succeeded", back.last_error
    [posted] = fb_payments(business, invoice["id"])
    assert posted["amount"]["amount"] == "250.00" and payment["id"] in posted["note"]
    assert GcPayment.objects.get().posted_payment_id == str(posted["id"])
