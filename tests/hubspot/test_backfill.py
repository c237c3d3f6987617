"""Backfill from FreshBooks into HubSpot: clients, invoices and payments in batch calls, resumable, and
running it twice writes nothing new."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.freshbooks.sandbox import records, seed_demo
from integrations.freshbooks.sandbox.state import KINDS
from integrations.hubspot import sandbox
from mlconnector.pipeline import backfill
from mlconnector.pipeline.models import ConnectionJob, Delivery
from tests.conftest import client_for
from tests.freshbooks.helpers import sandbox_source
from tests.hubspot.helpers import hubspot_connection, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(tenant_a, admin_a, monkeypatch):
    monkeypatch.setattr(backfill, "PER_PAGE", 5)
    sandbox.reset()
    sandbox_source(tenant_a)
    account = seed_demo().businesses[0]
    for n in range(8):
        client, _ = records.create(
            account, KINDS["client"], {"organization": f"Shop {n}", "email": f"shop{n}@example.com"}
        )
        line = {"name": "Work", "qty": "2", "unit_cost": {"amount": f"{100 + n}"}}
        invoice, _ = records.create(
            account, KINDS["invoice"], {"customerid": client["id"], "lines": [line], "status": 2}
        )
        if n % 2:
            records.create(account, KINDS["payment"], {"invoiceid": invoice["id"], "amount": {"amount": "50"}})
    hubspot = hubspot_connection(client_for(admin_a))
    ConnectionJob.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    return hubspot


def test_a_backfill_copies_clients_invoices_and_payments_in_batches_and_a_second_one_writes_nothing(books):
    hubspot = books
    job = backfill.start(hubspot)
    run(rounds=60)
    job.refresh_from_db()
    assert job.status == "listed"
    assert backfill.progress(job)["finished"] and not Delivery.objects.exclude(status="succeeded").exists()
    assert len(sandbox.records("contacts")) == 10  # 8 shops and the two demo clients
    assert len(sandbox.records("companies")) == 10
    assert len(sandbox.records("invoices")) == 8 and len(sandbox.records("commerce_payments")) == 4
    shop = sandbox.record("contacts", "shop1@example.com")["properties"]
    assert shop["freshbooks_total_invoiced"] == "202.00" and shop["freshbooks_outstanding"] == "152.00"
    stats = sandbox.stats()
    assert stats["writes_contacts"] < len(sandbox.records("contacts"))  # batch calls, not one per record

    before = sandbox.stats()
    again = backfill.start(hubspot)
    run(rounds=60)
    again.refresh_from_db()
    assert again.queued == 0 and backfill.progress(again)["finished"]
    after = sandbox.stats()
    assert {k: v for k, v in after.items() if k.startswith(("writes_", "inputs_"))} == {
        k: v for k, v in before.items() if k.startswith(("writes_", "inputs_"))
    }
