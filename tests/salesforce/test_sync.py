"""What goes wrong in a real org, and what ml-connector does about it: an ended session is renewed
unnoticed, a renamed won stage is found again, a missing external-id field or a validation rule fails
the delivery with Salesforce's own words and a replay once fixed succeeds, an exhausted daily
allowance waits, several records with one external id are named."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.salesforce import sandbox as sf
from integrations.salesforce.client import api_usage
from integrations.sandbox import faults
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from tests.freshbooks.test_flow import create_invoice
from tests.pipeline_helpers import audit_messages
from tests.salesforce.helpers import only, record_payment, settle

pytestmark = pytest.mark.django_db


def deliveries(conn, status=None):
    qs = Delivery.objects.filter(connection=conn)
    return qs.filter(status=status) if status else qs


def test_an_ended_session_is_renewed_without_anyone_noticing(world):
    _, conn = world
    first = sf.sessions_issued()
    sf.end_sessions()  # the org's session timeout passed, or an admin revoked the sessions
    create_invoice("700.00")
    settle()
    assert only(sf.opportunities())["Amount"] == "700.00"
    assert sf.sessions_issued() == first + 1  # one new token, asked for once
    conn.refresh_from_db()
    assert conn.status == "active" and deliveries(conn, "failed").count() == 0
    assert any("INVALID_SESSION_ID" in m for m in audit_messages(kind="http", provider="salesforce"))


def test_a_renamed_won_stage_is_discovered_again(world):
    _, conn = world
    create_invoice("900.00")
    settle()
    sf.rename_won_stage("Won - Paid")  # after ml-connector learnt "Closed Won"
    record_payment("900.00")
    settle()
    opp = only(sf.opportunities())
    assert opp["IsWon"] and opp["StageName"] == "Won - Paid"
    conn.refresh_from_db()
    assert conn.config["won_stage"] == "Won - Paid"
    assert deliveries(conn, "failed").count() == 0
    assert any("won stage discovered: “Won - Paid” (was “Closed Won”)" in m for m in audit_messages(kind="connection"))


def test_a_missing_external_id_field_fails_with_the_fix_and_a_replay_then_writes_once(world):
    client, conn = world
    sf.remove_field("Opportunity", "FreshBooks_Invoice_Id__c")
    create_invoice("1200.00")
    settle()
    failed = deliveries(conn, "failed").get(event_type="invoice.create")
    assert "no field Opportunity.FreshBooks_Invoice_Id__c" in failed.last_error
    assert "Text (255), External ID, Unique" in failed.last_error
    page = client.get(reverse("connection-detail", args=[conn.pk])).content.decode()
    assert "Create the field Opportunity.FreshBooks_Invoice_Id__c in Salesforce" in page
    sf.add_field("Opportunity", "FreshBooks_Invoice_Id__c")
    assert client.post(reverse("connection-test", args=[conn.pk])).status_code == 302  # re-checks the fields
    conn.refresh_from_db()
    assert conn.config["missing_fields"] == []
    replay_deliveries(deliveries(conn, "failed"), actor=None)
    settle()
    assert only(sf.opportunities())["Amount"] == "1200.00"
    replay_deliveries(deliveries(conn, "succeeded"), actor=None, resend=True)
    settle()
    assert len(sf.opportunities()) == 1


def test_an_account_salesforce_refuses_fails_the_invoice_with_salesforces_message(world):
    _, conn = world
    sf.set_validation_rule(True)  # new Accounts need a billing country; the invoice's client has none
    create_invoice("300.00")
    settle()
    failed = deliveries(conn, "failed").get(event_type="invoice.create")
    assert "Could not create the Account “Northwind Traders” that this invoice needs first" in failed.last_error
    assert "Billing country is required on every account" in failed.last_error
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in failed.last_error
    assert any("Billing country is required" in m for m in audit_messages(kind="http", provider="salesforce"))
    assert sf.opportunities() == []
    sf.set_validation_rule(False)
    replay_deliveries(deliveries(conn, "failed"), actor=None)
    settle()
    assert only(sf.opportunities())["Amount"] == "300.00"


def test_an_exhausted_daily_allowance_waits_like_a_rate_limit(world):
    _, conn = world
    used, limit = sf.api_usage()
    sf.set_api_usage(limit)
    create_invoice("450.00")
    settle()
    d = deliveries(conn).get(event_type="invoice.create")
    assert d.status == "retrying" and "REQUEST_LIMIT_EXCEEDED" in d.last_error
    assert sf.opportunities() == []


def test_the_limit_header_is_kept_and_shown_on_the_connection_page(world):
    client, conn = world
    sf.set_api_usage(40)
    create_invoice("450.00")
    settle()
    usage = api_usage(conn.pk)
    assert usage["max"] == 100000 and usage["used"] > 40
    page = client.get(reverse("connection-detail", args=[conn.pk])).content.decode()
    assert f"{usage['used']} of 100,000 used" in page


def test_several_records_with_one_external_id_are_named(world):
    _, conn = world
    create_invoice("500.00")
    settle()
    opp = only(sf.opportunities())
    twin = sf.add_record("Opportunity", {k: v for k, v in opp.items() if k != "Id"})
    replay_deliveries(deliveries(conn, "succeeded"), actor=None, resend=True)
    settle()
    failed = deliveries(conn, "failed").first()
    assert failed is not None and "Several Salesforce records have this external id" in failed.last_error
    assert opp["Id"] in failed.last_error and twin in failed.last_error


def test_a_server_error_is_retried(world):
    _, conn = world
    faults.add("salesforce", match="PATCH", status=503, body=[{"message": "busy", "errorCode": "SERVER_UNAVAILABLE"}])
    create_invoice("650.00")
    settle()
    assert only(sf.opportunities())["Amount"] == "650.00"
    assert Connection.objects.get(pk=conn.pk).status == "active"


def test_calls_are_spaced_out_when_the_allowance_runs_low(world):
    from mlconnector.ratelimit import limiter

    client, conn = world
    sf.set_api_usage(99_990)  # 10 requests left of 100,000
    create_invoice("450.00")
    settle()
    # The Account was written; the Opportunity's call had to wait its turn, longer than a worker
    # waits inline, so the delivery comes back when it may.
    assert limiter().blocked_for(f"salesforce:{conn.pk}") > 0
    d = deliveries(conn).get(event_type="invoice.create")
    assert d.status == "retrying" and "salesforce asked us to wait" in d.last_error
    assert any("trying again in 2.0s as asked" in m for m in audit_messages(kind="delivery"))
    page = client.get(reverse("connection-detail", args=[conn.pk])).content.decode()
    assert "running low: ml-connector spaces its calls out" in page


def test_a_multi_currency_org_gets_the_invoices_currency(tenant_a, admin_a):
    from integrations.freshbooks.sandbox import seed_demo
    from tests.conftest import client_for
    from tests.freshbooks.test_flow import connect_freshbooks
    from tests.salesforce.helpers import connect_salesforce

    seed_demo()
    sf.reset()
    sf.set_flag("multi_currency", True)
    client = client_for(admin_a)
    connect_freshbooks(client)
    conn = connect_salesforce(client)
    assert conn.config["multi_currency"]
    create_invoice("300.00")
    settle()
    assert only(sf.opportunities())["CurrencyIsoCode"] == "USD"


def test_test_connection_says_what_it_found(world):
    client, conn = world
    sf.set_flag("max_version", "66.0")
    response = client.post(reverse("connection-test", args=[conn.pk]), follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert f"Salesforce answers at https://{sf.DEMO_HOST} with API v66.0" in text
    assert "of 100,000 daily API requests used" in text
