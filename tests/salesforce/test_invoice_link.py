"""Issue 12's last clause: when the org has Order Management (the standard `Invoice` object), each
Opportunity is linked to the Salesforce Invoice that carries its FreshBooks invoice id, in a
Lookup(Invoice) on Opportunity. Without Order Management nothing happens and no call is spent; a
missing field is named on the settings page and never fails a delivery; an Invoice not there yet is
said in the audit row and linked by a later event."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import rows
from integrations.salesforce import sandbox as sf
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.sandbox import state as st
from integrations.sandbox import faults
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery, RecordLink
from mlconnector.pipeline.replay import replay_deliveries
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.salesforce.helpers import connect_salesforce, create_client, only, record_payment, settle

pytestmark = pytest.mark.django_db

LOOKUP = "FreshBooks_Salesforce_Invoice__c"
MATCH = "FreshBooks_Invoice_Id__c"


@pytest.fixture
def queries(monkeypatch) -> list[str]:
    """Every SOQL query ml-connector sends (the real client, watched)."""
    sent: list[str] = []
    original = SalesforceClient.query

    def watched(self, soql):
        sent.append(soql)
        return original(self, soql)

    monkeypatch.setattr(SalesforceClient, "query", watched)
    return sent


def connect(admin, *, order_management: bool, fields: bool = True, remove: tuple[str, str] | None = None):
    seed_demo()
    sf.reset()
    if order_management:
        sf.set_order_management(True, with_fields=fields)
    if remove:
        sf.remove_field(*remove)
    client = client_for(admin)
    connect_freshbooks(client)
    return client, connect_salesforce(client)


def latest_invoice_id() -> str:
    invoice = rows(seed_demo().businesses[0], "invoice").order_by("-id").first()
    return str(invoice.data["id"])


def invoice_deliveries(conn):
    return Delivery.objects.filter(connection=conn, event_type__startswith="invoice.")


def delivery_messages(conn) -> list[str]:
    return [
        r.message
        for r in AuditRecord.objects.filter(kind="delivery", connection=conn).order_by("id")
        if "Opportunity" in r.message
    ]


def test_without_order_management_nothing_is_linked_and_no_call_is_spent(tenant_a, admin_a, queries):
    client, conn = connect(admin_a, order_management=False)
    assert conn.config["order_management"] is False and conn.config["invoice_link"] is False
    connect_queries = len(queries)
    create_invoice("800.00")
    settle()
    opp = only(sf.opportunities())
    assert LOOKUP not in opp
    assert invoice_deliveries(conn).get().status == "succeeded"
    assert queries[connect_queries:] == []  # no Invoice query (nor any other) for an open invoice
    assert not any("Invoice not" in m or "linked to Salesforce Invoice" in m for m in delivery_messages(conn))
    assert not RecordLink.objects.filter(connection=conn, remote_type="Invoice").exists()
    page = client.get(reverse("salesforce-settings", args=[conn.pk])).content.decode()
    assert "Order Management not detected" in page
    assert "Create the field" not in page
    assert "Order Management not detected" in client.get(reverse("connection-detail", args=[conn.pk])).content.decode()


def test_the_matching_invoice_is_linked_and_a_replay_does_not_duplicate(tenant_a, admin_a, queries):
    client, conn = connect(admin_a, order_management=True)
    assert conn.config["order_management"] and conn.config["invoice_link"]
    assert conn.config["invoice_link_missing"] == []
    create_invoice("800.00")
    fb_id = latest_invoice_id()
    other = sf.add_invoice("some-other-invoice", amount="5.00")
    invoice = sf.add_invoice(fb_id, amount="800.00")
    settle()
    opp = only(sf.opportunities())
    assert opp[LOOKUP] == invoice != other
    assert any(f"linked to Salesforce Invoice {invoice}" in m for m in delivery_messages(conn))
    invoice_queries = [q for q in queries if "FROM Invoice" in q]
    assert invoice_queries == [f"SELECT Id, {MATCH} FROM Invoice WHERE {MATCH} IN ('{fb_id}') ORDER BY CreatedDate"]

    replay_deliveries(invoice_deliveries(conn), actor=None, resend=True)
    settle()
    opp = only(sf.opportunities())
    assert opp[LOOKUP] == invoice
    assert RecordLink.objects.filter(connection=conn, remote_type="Invoice").count() == 1
    assert len([q for q in queries if "FROM Invoice" in q]) == 1  # remembered: no second query

    record_payment("800.00")  # the payment's delivery keeps the link and closes it won
    settle()
    opp = only(sf.opportunities())
    assert opp["IsWon"] and opp[LOOKUP] == invoice
    page = client.get(reverse("salesforce-settings", args=[conn.pk])).content.decode()
    assert "Order Management detected" in page
    page = client.get(reverse("connection-detail", args=[conn.pk])).content.decode()
    assert f"linked in <code>Opportunity.{LOOKUP}</code>" in page


def test_no_matching_invoice_yet_is_said_and_a_later_event_links_it(tenant_a, admin_a):
    _, conn = connect(admin_a, order_management=True)
    create_invoice("900.00")
    fb_id = latest_invoice_id()
    settle()
    opp = only(sf.opportunities())
    assert not opp.get(LOOKUP)
    assert invoice_deliveries(conn).get().status == "succeeded"
    assert any(
        f"Salesforce Invoice not found: no Invoice has {MATCH} = {fb_id} yet" in m for m in delivery_messages(conn)
    )

    invoice = sf.add_invoice(fb_id, amount="900.00")  # Order Management makes it later
    record_payment("300.00")
    settle()
    opp = only(sf.opportunities())
    assert opp[LOOKUP] == invoice and not opp["IsWon"]


def test_a_missing_field_is_named_on_the_settings_page_and_the_delivery_still_succeeds(tenant_a, admin_a):
    client, conn = connect(admin_a, order_management=True, remove=("Opportunity", LOOKUP))
    assert conn.config["order_management"] and not conn.config["invoice_link"]
    page = client.get(reverse("salesforce-settings", args=[conn.pk])).content.decode()
    assert f"Create the field Opportunity.{LOOKUP} in Salesforce" in page
    assert "Lookup Relationship to Invoice" in page
    assert f"Field Name <code>{LOOKUP.removesuffix('__c')}</code>" in page
    assert "Create the field Invoice." not in page  # the Invoice field is there

    create_invoice("700.00")
    fb_id = latest_invoice_id()
    invoice = sf.add_invoice(fb_id, amount="700.00")
    settle()
    assert invoice_deliveries(conn).get().status == "succeeded"
    assert not only(sf.opportunities()).get(LOOKUP)
    assert any(f"Salesforce Invoice not linked: create Opportunity.{LOOKUP}" in m for m in delivery_messages(conn))

    response = client.post(reverse("connection-test", args=[conn.pk]), follow=True)
    told = " ".join(str(m) for m in response.context["messages"])
    assert f"To link Order Management's Invoices: the field Opportunity.{LOOKUP} is missing" in told
    sf.add_field("Opportunity", LOOKUP)  # the admin creates it; Test connection checks the org again
    assert client.post(reverse("connection-test", args=[conn.pk])).status_code == 302
    conn.refresh_from_db()
    assert conn.config["invoice_link"] and conn.config["invoice_link_missing"] == []
    replay_deliveries(invoice_deliveries(conn), actor=None, resend=True)
    settle()
    assert only(sf.opportunities())[LOOKUP] == invoice


def test_a_field_deleted_after_connecting_pauses_the_link_without_failing(tenant_a, admin_a):
    client, conn = connect(admin_a, order_management=True)
    sf.remove_field("Invoice", MATCH)  # ml-connector still believes the link is ready
    create_invoice("650.00")
    settle()
    assert invoice_deliveries(conn).get().status == "succeeded"
    conn.refresh_from_db()
    assert not conn.config["invoice_link"]
    assert [m["field"] for m in conn.config["invoice_link_missing"]] == [MATCH]
    page = client.get(reverse("salesforce-settings", args=[conn.pk])).content.decode()
    assert f"Create the field Invoice.{MATCH} in Salesforce" in page and "Text (255), External ID" in page


def test_a_lookup_field_deleted_after_connecting_is_left_out_and_the_opportunity_written(tenant_a, admin_a):
    _, conn = connect(admin_a, order_management=True)
    create_invoice("610.00")
    sf.add_invoice(latest_invoice_id(), amount="610.00")
    sf.remove_field("Opportunity", LOOKUP)
    settle()
    assert invoice_deliveries(conn).get().status == "succeeded"
    assert only(sf.opportunities())["Amount"] == "610.00"
    conn.refresh_from_db()
    assert [m["field"] for m in conn.config["invoice_link_missing"]] == [LOOKUP]


def test_a_deleted_invoice_is_forgotten_and_the_opportunity_still_written(tenant_a, admin_a):
    _, conn = connect(admin_a, order_management=True)
    create_invoice("500.00")
    fb_id = latest_invoice_id()
    invoice = sf.add_invoice(fb_id, amount="500.00")
    settle()
    assert only(sf.opportunities())[LOOKUP] == invoice
    st.delete_record(sf.org(), "Invoice", invoice)  # gone in Salesforce: the Opportunity's lookup is cleared
    record_payment("200.00")
    settle()
    assert Delivery.objects.filter(connection=conn, status="failed").count() == 0
    assert not RecordLink.objects.filter(connection=conn, remote_type="Invoice").exists()
    assert not only(sf.opportunities()).get(LOOKUP)
    assert any("Salesforce Invoice not found" in m for m in delivery_messages(conn)[1:])


def test_a_batch_of_invoices_is_linked_with_one_query(tenant_a, admin_a, queries):
    _, conn = connect(admin_a, order_management=True)
    create_client()
    create_invoice("100.00")  # Northwind's Account is made with its first invoice
    settle()
    before = len([q for q in queries if "FROM Invoice" in q])
    ids = []
    for amount in ("110.00", "120.00", "130.00"):
        create_invoice(amount)
        ids.append(latest_invoice_id())
    linked = {i: sf.add_invoice(i, amount="1.00") for i in ids[:2]}  # the third has none yet
    settle()
    invoice_queries = [q for q in queries if "FROM Invoice" in q][before:]
    assert len(invoice_queries) == 1 and all(f"'{i}'" in invoice_queries[0] for i in ids)
    by_amount = {o["Amount"]: o for o in sf.opportunities()}
    assert by_amount["110.00"][LOOKUP] == linked[ids[0]] and by_amount["120.00"][LOOKUP] == linked[ids[1]]
    assert not by_amount["130.00"].get(LOOKUP)
    assert Delivery.objects.filter(connection=conn, status="failed").count() == 0


def test_the_link_fields_are_settings_checked_like_the_other_field_names(tenant_a, admin_a):
    client, conn = connect(admin_a, order_management=True)
    url = reverse("salesforce-settings", args=[conn.pk])
    form = {
        "account_external_field": "FreshBooks_Client_Id__c",
        "opportunity_external_field": "FreshBooks_Invoice_Id__c",
        "open_stage": "Negotiation/Review",
        "paid_field": "FreshBooks_Paid_Amount__c",
        "invoice_match_field": MATCH,
        "invoice_lookup_field": "Invoice Link",
    }
    response = client.post(url, form)
    assert response.status_code == 400 and "“Invoice Link” is not a custom field" in response.content.decode()
    assert Connection.objects.get(pk=conn.pk).config.get("invoice_lookup_field") is None

    response = client.post(url, {**form, "invoice_lookup_field": "Sales_Invoice__c"})
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.config["invoice_lookup_field"] == "Sales_Invoice__c" and not conn.config["invoice_link"]
    page = client.get(url).content.decode()
    assert "Create the field Opportunity.Sales_Invoice__c in Salesforce" in page


def test_an_invoice_query_salesforce_refuses_leaves_the_opportunity_unlinked_not_failed(tenant_a, admin_a):
    _, conn = connect(admin_a, order_management=True)
    faults.add(
        "salesforce",
        match="/query",  # the one query of an open invoice's delivery: the Invoice look-up
        status=400,
        body=[{"message": "invalid operator on a number field", "errorCode": "INVALID_QUERY_FILTER_OPERATOR"}],
    )
    create_invoice("420.00")
    sf.add_invoice(latest_invoice_id(), amount="420.00")
    settle()
    assert invoice_deliveries(conn).get().status == "succeeded"
    assert not only(sf.opportunities()).get(LOOKUP)
    assert any(
        "Salesforce Invoice not looked up: invalid operator on a number field" in m for m in delivery_messages(conn)
    )


def test_a_lookup_the_run_as_user_cannot_edit_is_left_out_and_named(tenant_a, admin_a):
    client, conn = connect(admin_a, order_management=True)
    # field-level security changed after connecting: the Run As user may no longer edit the lookup
    sf.add_field("Opportunity", LOOKUP, spec={"type": "reference", "referenceTo": ["Invoice"], "editable": False})
    create_invoice("330.00")
    sf.add_invoice(latest_invoice_id(), amount="330.00")
    settle()
    assert invoice_deliveries(conn).get().status == "succeeded"
    assert not only(sf.opportunities()).get(LOOKUP)
    page = client.get(reverse("salesforce-settings", args=[conn.pk])).content.decode()
    assert f"Create the field Opportunity.{LOOKUP} in Salesforce" in page
    assert "not editable by the connected app&#x27;s Run As user" in page
    # Test connection reads the same from describe, so it stays named until fixed
    client.post(reverse("connection-test", args=[conn.pk]))
    conn.refresh_from_db()
    assert not conn.config["invoice_link"]
    assert conn.config["invoice_link_missing"][0]["problem"] == "not editable by the connected app's Run As user"
