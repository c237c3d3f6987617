"""Tenancy on HubSpot's own views: admin of A can, viewer of A cannot change, admin of B gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.hubspot import sandbox
from mlconnector.connections.models import Connection
from tests.conftest import client_for
from tests.hubspot.helpers import hubspot_connection

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {"hubspot-schedule", "hubspot-check-invoices", "hubspot-connect"}


@pytest.fixture
def hubspot(personas):
    sandbox.reset()
    return hubspot_connection(client_for(personas["admin_a"]))


def test_only_the_tenants_admin_can_change_the_schedule(hubspot, personas):
    url = reverse("hubspot-schedule", args=[hubspot.pk])
    form = {"mode": "digest", "every_hours": "6"}
    assert client_for(personas["admin_b"]).post(url, form).status_code == 404
    assert client_for(personas["viewer_a"]).post(url, form).status_code == 403
    assert Connection.objects.get(pk=hubspot.pk).config["schedule"] == {"mode": "realtime"}
    assert client_for(personas["admin_a"]).post(url, form).status_code == 302
    assert Connection.objects.get(pk=hubspot.pk).config["schedule"] == {"mode": "digest", "every_hours": 6}


def test_a_bad_schedule_changes_nothing(hubspot, personas):
    url = reverse("hubspot-schedule", args=[hubspot.pk])
    page = (
        client_for(personas["admin_a"]).post(url, {"mode": "digest", "every_hours": "0"}, follow=True).content.decode()
    )
    assert "Nothing changed" in page
    assert Connection.objects.get(pk=hubspot.pk).config["schedule"] == {"mode": "realtime"}


def test_only_the_tenants_admin_can_ask_for_an_invoice_check(hubspot, personas):
    url = reverse("hubspot-check-invoices", args=[hubspot.pk])
    assert client_for(personas["admin_b"]).post(url).status_code == 404
    assert client_for(personas["viewer_a"]).post(url).status_code == 403
    assert client_for(personas["admin_a"]).post(url).status_code == 302


def test_the_viewer_sees_the_schedule_but_cannot_save_it(hubspot, personas):
    page = client_for(personas["viewer_a"]).get(f"/connections/{hubspot.pk}/").content.decode()
    assert "When HubSpot changes" in page and "Save schedule" not in page


def test_only_the_tenants_admin_can_start_connect_or_reconnect(hubspot, personas):
    url = reverse("hubspot-connect")
    reconnect = f"{url}?connection={hubspot.pk}"
    assert client_for(personas["admin_b"]).get(reconnect).status_code == 404
    assert client_for(personas["viewer_a"]).get(url).status_code == 403
    assert client_for(personas["viewer_a"]).get(reconnect).status_code == 403
    assert client_for(personas["admin_a"]).get(reconnect).status_code == 302
    assert client_for(personas["admin_a"]).get(f"{url}?connection=not-a-number").status_code == 404
