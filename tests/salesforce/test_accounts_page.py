"""The connection's Accounts page, read-only: each synced client's Account with a link, its open
Opportunities and Orders (SOQL, following nextRecordsUrl), and the FreshBooks clients with no Account."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.freshbooks.sandbox import records, seed_demo
from integrations.freshbooks.sandbox.state import KINDS
from integrations.salesforce import sandbox as sf
from tests.conftest import client_for
from tests.freshbooks.test_flow import create_invoice
from tests.salesforce.helpers import settle

pytestmark = pytest.mark.django_db


def test_it_shows_accounts_their_open_opportunities_and_orders_and_the_clients_without_one(world, personas):
    client, conn = world
    sf.set_flag("query_batch", 1)  # every query pages, so nextRecordsUrl is followed
    create_invoice("2500.00")
    create_invoice("800.00")
    settle()
    account = next(a for a in sf.accounts() if a["Name"] == "Northwind Traders")
    sf.add_record(
        "Order",
        {"AccountId": account["Id"], "OrderNumber": "00000100", "Status": "Activated", "EffectiveDate": "2026-11-01"},
    )
    records.create(seed_demo().businesses[0], KINDS["client"], {"organization": "Quiet Client Ltd"})
    before = sf.api_usage()[0]
    page = client.get(reverse("salesforce-accounts", args=[conn.pk])).content.decode()
    assert f"/lightning/r/Account/{account['Id']}/view" in page and "Northwind Traders" in page
    assert page.count("· Northwind Traders</a>") == 2 and "Negotiation/Review" in page
    assert "Order 00000100" in page and "Activated" in page
    assert "Quiet Client Ltd" in page.split("with no Account")[1]
    assert sf.api_usage()[0] - before == 3  # one Opportunity a page: two pages, then the Order
    assert sf.opportunities() and all(o["StageName"] == "Negotiation/Review" for o in sf.opportunities())
    url = reverse("salesforce-accounts", args=[conn.pk])
    assert client_for(personas["viewer_a"]).get(url).status_code == 200
    assert client_for(personas["admin_b"]).get(url).status_code == 404
