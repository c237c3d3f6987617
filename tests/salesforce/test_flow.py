"""End to end through both sandboxes: a FreshBooks client becomes an Account, its invoice an
Opportunity with the right amount and close date, and the payment closes it as won."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from integrations.freshbooks.sandbox.state import today as freshbooks_today
from integrations.salesforce import sandbox as sf
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery, RecordLink
from mlconnector.pipeline.replay import replay_deliveries
from tests.freshbooks.test_flow import create_invoice, northwind_id
from tests.pipeline_helpers import audit_messages
from tests.salesforce.helpers import create_client, only, record_payment, settle

pytestmark = pytest.mark.django_db


def test_a_new_freshbooks_client_becomes_an_account_upserted_by_its_id(world):
    create_client()
    settle()
    account = next(a for a in sf.accounts() if a["Name"] == "Globex Corporation")
    assert account["FreshBooks_Email__c"] == "ap@globex.example"
    client_id = account["FreshBooks_Client_Id__c"]
    assert client_id and RecordLink.objects.get(source_type="client", source_id=client_id).remote_id == account["Id"]


def test_an_invoice_becomes_an_opportunity_and_its_payment_closes_it_won(world):
    _, conn = world
    create_invoice("6000.00")
    settle()
    opp = only(sf.opportunities())
    assert Decimal(opp["Amount"]) == Decimal("6000.00")
    assert opp["CloseDate"] == (freshbooks_today() + timedelta(days=30)).isoformat()
    assert opp["StageName"] == "Negotiation/Review" and not opp["IsWon"]
    assert opp["Name"].startswith("Invoice ") and opp["Name"].endswith("Northwind Traders")
    account = only([a for a in sf.accounts() if a["Id"] == opp["AccountId"]])
    assert account["Name"] == "Northwind Traders"  # the invoice's Account was created first
    assert account["FreshBooks_Client_Id__c"] == str(northwind_id())
    delivery = Delivery.objects.get(connection=conn, event_type="invoice.create")
    assert delivery.status == "succeeded" and delivery.remote_id == opp["Id"]

    record_payment("2000.00")
    settle()
    opp = only(sf.opportunities())
    assert not opp["IsWon"] and Decimal(opp["FreshBooks_Paid_Amount__c"]) == Decimal("2000.00")
    assert any(
        "2,000.00 USD of 6,000.00 USD paid so far" in m and "left open" in m for m in audit_messages(kind="delivery")
    )

    record_payment("4000.00")
    settle()
    opp = only(sf.opportunities())
    assert opp["IsWon"] and opp["StageName"] == "Closed Won"
    assert Decimal(opp["FreshBooks_Paid_Amount__c"]) == Decimal("6000.00")
    assert [a["Name"] for a in sf.accounts()].count("Northwind Traders") == 1
    assert Connection.objects.get(pk=conn.pk).config["won_stage"] == "Closed Won"


def test_a_replay_updates_the_same_records_and_never_duplicates(world):
    _, conn = world
    create_invoice("1500.00")
    settle()
    delivered = Delivery.objects.filter(connection=conn, status="succeeded")
    assert delivered.exists()
    replay_deliveries(delivered, actor=None, resend=True)
    settle()
    assert len(sf.opportunities()) == 1
    assert [a["Name"] for a in sf.accounts()].count("Northwind Traders") == 1
    assert any("updated" in m for m in audit_messages(kind="delivery"))
