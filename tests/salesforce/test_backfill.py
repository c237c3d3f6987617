"""Backfill from FreshBooks: existing clients and invoices upserted through sObject Collections (200
records a call), each invoice with its Account; a second run writes nothing new; several due
deliveries go out together, each succeeding or failing on its own."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.freshbooks.sandbox import records, seed_demo
from integrations.freshbooks.sandbox.state import KINDS
from integrations.salesforce import sandbox as sf
from integrations.sandbox.models import SandboxObject
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline import backfill
from mlconnector.pipeline.models import ConnectionJob, Delivery
from tests.salesforce.helpers import settle

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(world):
    account = seed_demo().businesses[0]
    for n in range(6):
        client, _ = records.create(
            account,
            KINDS["client"],
            {"organization": f"Client {n}", "email": f"c{n}@example.com", "currency_code": "USD"},
        )
        line = {"name": f"Work {n}", "qty": "1", "unit_cost": {"amount": f"{100 + n}.50"}}
        records.create(account, KINDS["invoice"], {"customerid": client["id"], "lines": [line]})
    # The FreshBooks polling backstop would deliver these too; here only the backfill does.
    ConnectionJob.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    return world


def collection_calls() -> int:
    return sum(
        1 for r in AuditRecord.objects.filter(kind="http", provider="salesforce") if "/composite/sobjects/" in r.url
    )


def test_a_backfill_upserts_clients_then_invoices_through_collections_once(books):
    _, conn = books
    job = backfill.start(conn)
    settle(rounds=40)
    job.refresh_from_db()
    clients = SandboxObject.objects.filter(provider="freshbooks", kind="client").count()
    invoices = SandboxObject.objects.filter(provider="freshbooks", kind="invoice").count()
    assert backfill.progress(job)["finished"]
    assert len(sf.accounts()) == clients and len(sf.opportunities()) == invoices
    by_id = {a["Id"]: a for a in sf.accounts()}
    for opp in sf.opportunities():
        assert opp["AccountId"] in by_id and opp["Amount"]
    assert any(Decimal(o["Amount"]) == Decimal("105.50") for o in sf.opportunities())
    assert collection_calls() == 2  # one for the Accounts, one for the Opportunities
    assert Delivery.objects.filter(connection=conn).exclude(status="succeeded").count() == 0

    again = backfill.start(conn)
    settle(rounds=40)
    again.refresh_from_db()
    assert backfill.progress(again)["finished"] and again.queued == 0
    assert collection_calls() == 2
    assert len(sf.accounts()) == clients and len(sf.opportunities()) == invoices


def test_in_a_batch_each_record_succeeds_or_fails_on_its_own(books):
    _, conn = books
    account = seed_demo().businesses[0]
    records.create(account, KINDS["client"], {"organization": "Abroad GmbH", "p_country": "Germany"})
    sf.set_validation_rule(True)  # only the client with a billing country may become an Account
    backfill.start(conn, record_types=["client"])
    settle(rounds=40)
    assert [a["Name"] for a in sf.accounts()] == ["Abroad GmbH"]
    failed = Delivery.objects.filter(connection=conn, status="failed")
    assert failed.exists() and all("Billing country is required" in d.last_error for d in failed)
