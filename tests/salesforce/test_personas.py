"""The three personas on Salesforce's pages: admins of A connect and change settings, viewers of A
read, admins of B never see A's connection."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations.salesforce import sandbox as sf
from tests.conftest import client_for
from tests.salesforce.helpers import connect_form, connect_salesforce

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {"salesforce-connect", "salesforce-settings", "salesforce-accounts"}  # accounts: test_accounts_page.py


@pytest.fixture
def conn(personas):
    sf.reset()
    return connect_salesforce(client_for(personas["admin_a"]))


def test_only_admins_connect(personas):
    sf.reset()
    assert client_for(personas["viewer_a"]).get(reverse("salesforce-connect")).status_code == 403
    assert client_for(personas["viewer_a"]).post(reverse("salesforce-connect"), connect_form()).status_code == 403


def test_settings_are_read_by_the_tenant_changed_by_its_admins(conn, personas):
    url = reverse("salesforce-settings", args=[conn.pk])
    assert client_for(personas["admin_b"]).get(url).status_code == 404
    assert (
        client_for(personas["admin_b"]).get(reverse("salesforce-connect") + f"?connection={conn.pk}").status_code == 404
    )
    viewer = client_for(personas["viewer_a"])
    assert b"Only an admin" in viewer.get(url).content
    form = {
        "account_external_field": "FB_Client__c",
        "opportunity_external_field": "FreshBooks_Invoice_Id__c",
        "open_stage": "Prospecting",
        "paid_field": "FreshBooks_Paid_Amount__c",
    }
    assert viewer.post(url, form).status_code == 403
    admin = client_for(personas["admin_a"])
    assert admin.post(url, form).status_code == 302
    conn.refresh_from_db()
    assert conn.config["open_stage"] == "Prospecting" and conn.config["account_external_field"] == "FB_Client__c"
    # the org has no such field: the connection page now says to create it
    page = admin.get(reverse("connection-detail", args=[conn.pk])).content.decode()
    assert "Create the field Account.FB_Client__c in Salesforce" in page


def test_a_field_name_that_is_not_an_api_name_is_refused(conn, personas):
    url = reverse("salesforce-settings", args=[conn.pk])
    response = client_for(personas["admin_a"]).post(
        url,
        {
            "account_external_field": "FreshBooks Client Id",
            "opportunity_external_field": "FreshBooks_Invoice_Id__c",
            "open_stage": "Prospecting",
            "paid_field": "FreshBooks_Paid_Amount__c",
        },
    )
    assert response.status_code == 400 and "ends in __c" in response.content.decode()


def test_every_described_by_points_at_text_on_the_page(conn, personas):
    admin = client_for(personas["admin_a"])
    pages = [
        admin.get(reverse("salesforce-settings", args=[conn.pk])).content.decode(),
        admin.post(reverse("salesforce-connect"), connect_form(my_domain="login.salesforce.com")).content.decode(),
        client_for(personas["viewer_a"]).get(reverse("salesforce-settings", args=[conn.pk])).content.decode(),
    ]
    for html in pages:
        ids = set(re.findall(r'\bid="([^"]+)"', html))
        wanted = {r for refs in re.findall(r'aria-describedby="([^"]+)"', html) for r in refs.split()}
        assert wanted - ids == set()
