"""Tenancy on every GoCardless view: admin of A can, viewer of A can read but not change, admin of
B gets 404 (its existence is not B's to know)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.gocardless.models import GcPayment, MandateRequest
from tests.conftest import client_for
from tests.gocardless.helpers import gc_connection

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {
    "gocardless-connect",
    "gocardless-settings",
    "gocardless-payments",
    "gocardless-mandates",
    "gocardless-mandate-link",
    "gocardless-report",
    "gocardless-report-csv",
}


@pytest.fixture
def gc(personas, tenant_a):
    conn, _ = gc_connection(tenant_a)
    GcPayment.objects.create(
        tenant=tenant_a,
        connection=conn,
        payment_id="PM000000000042",
        invoice_id="4001",
        invoice_number="0000042",
        counterparty="Northwind Traders",
        amount="120.00",
        currency="USD",
        status="confirmed",
        flag="invoice #0000042 is already paid in FreshBooks",
    )
    return conn


@pytest.mark.parametrize(
    "name",
    ["gocardless-settings", "gocardless-payments", "gocardless-mandates", "gocardless-report", "gocardless-report-csv"],
)
def test_pages_are_readable_in_the_tenant_only(gc, personas, name):
    url = reverse(name, args=[gc.pk])
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert client_for(personas["viewer_a"]).get(url).status_code == 200
    assert client_for(personas["admin_b"]).get(url).status_code == 404


def test_the_flagged_payment_shows_to_the_tenant_only(gc, personas):
    url = reverse("gocardless-payments", args=[gc.pk])
    assert b"already paid in FreshBooks" in client_for(personas["viewer_a"]).get(url).content
    assert b"already paid" not in client_for(personas["admin_b"]).get(url).content


def test_only_the_tenants_admin_changes_settings(gc, personas):
    url = reverse("gocardless-settings", args=[gc.pk])
    form = {"webhook_secret": "another-secret-0123456789", "fees_category": "Travel"}
    assert client_for(personas["admin_b"]).post(url, form).status_code == 404
    assert client_for(personas["viewer_a"]).post(url, form).status_code == 403
    gc.refresh_from_db()
    assert gc.config["fees_category"] == "Bank Fees"
    assert client_for(personas["admin_a"]).post(url, form).status_code == 302
    gc.refresh_from_db()
    assert gc.config["fees_category"] == "Travel"


def test_only_the_tenants_admin_creates_a_mandate_link(gc, personas, tenant_a):
    row = MandateRequest.objects.create(
        tenant=tenant_a,
        connection=gc,
        invoice_id="4002",
        reason="no active mandate in USD",
        currency="USD",
        email="x@y.example",
    )
    url = reverse("gocardless-mandate-link", args=[gc.pk, row.pk])
    assert client_for(personas["admin_b"]).post(url).status_code == 404
    assert client_for(personas["viewer_a"]).post(url).status_code == 403
    assert client_for(personas["admin_a"]).post(url).status_code == 302
    row.refresh_from_db()
    assert row.flow_url and row.billing_request_id


def test_connect_is_for_admins(personas):
    url = reverse("gocardless-connect")
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert client_for(personas["viewer_a"]).get(url).status_code == 403


def test_a_reconnect_of_another_tenants_connection_is_404(gc, personas):
    url = reverse("gocardless-connect") + f"?connection={gc.pk}"
    assert client_for(personas["admin_b"]).get(url).status_code == 404
