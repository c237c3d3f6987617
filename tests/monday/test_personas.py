"""Tenancy on every Monday view: admin of A can, viewer of A can read but not change, admin of B gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.monday import sandbox
from integrations.monday.models import BoardMap
from mlconnector.connections.models import Connection
from tests.conftest import client_for
from tests.monday.helpers import connect_monday, invoice_map_form, save_map

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {"connection-token", "monday-maps", "monday-map-edit", "monday-map-delete", "monday-item"}


@pytest.fixture
def monday(personas):
    sandbox.reset()
    admin = client_for(personas["admin_a"])
    conn = connect_monday(admin)
    save_map(admin, conn, "invoice", invoice_map_form())
    return conn


@pytest.mark.parametrize("name", ["monday-maps", "monday-map-edit"])
def test_pages_are_readable_in_the_tenant_only(monday, personas, name):
    args = [monday.pk] if name == "monday-maps" else [monday.pk, "invoice"]
    url = reverse(name, args=args)
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert client_for(personas["viewer_a"]).get(url).status_code == 200
    assert client_for(personas["admin_b"]).get(url).status_code == 404


def test_an_items_page_is_readable_in_the_tenant_only(monday, personas):
    from mlconnector.pipeline.models import RecordLink

    RecordLink.objects.create(
        tenant=monday.tenant,
        connection=monday,
        source_type="invoice",
        source_id="4001",
        remote_type="monday_item",
        remote_id="9100000001",
        data={"board_id": sandbox.board("Invoices")["id"], "values": {}, "name": "Invoice 0000042"},
    )
    url = reverse("monday-item", args=[monday.pk, "9100000001"])
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert b"Invoice 0000042" in client_for(personas["viewer_a"]).get(url).content
    assert client_for(personas["admin_b"]).get(url).status_code == 404


def test_only_the_tenants_admin_can_save_a_map(monday, personas):
    url = reverse("monday-map-edit", args=[monday.pk, "invoice"])
    changed = invoice_map_form(col_amount="")
    assert client_for(personas["admin_b"]).post(url, changed).status_code == 404
    assert client_for(personas["viewer_a"]).post(url, changed).status_code == 403
    assert BoardMap.objects.get().columns.filter(field="amount").exists()
    assert client_for(personas["admin_a"]).post(url, changed).status_code == 302
    assert not BoardMap.objects.get().columns.filter(field="amount").exists()


def test_only_the_tenants_admin_can_remove_a_map(monday, personas):
    url = reverse("monday-map-delete", args=[monday.pk, "invoice"])
    assert client_for(personas["admin_b"]).post(url).status_code == 404
    assert client_for(personas["viewer_a"]).post(url).status_code == 403
    assert BoardMap.objects.exists()
    assert client_for(personas["admin_a"]).post(url).status_code == 302
    assert not BoardMap.objects.exists()


def test_the_token_form_is_for_admins_and_reconnects_stay_in_the_tenant(monday, personas):
    url = reverse("connection-token", args=["monday"])
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert client_for(personas["viewer_a"]).get(url).status_code == 403
    assert client_for(personas["viewer_a"]).post(url, {"token": sandbox.issue_personal_token()}).status_code == 403
    # Admin of B may connect their own tenant, but not replace tenant A's token.
    assert client_for(personas["admin_b"]).get(url).status_code == 200
    stolen = client_for(personas["admin_b"]).post(
        f"{url}?connection={monday.pk}", {"token": sandbox.issue_personal_token()}
    )
    assert stolen.status_code == 404
    assert client_for(personas["viewer_a"]).get(f"{url}?connection={monday.pk}").status_code == 403
    assert Connection.objects.filter(provider="monday").count() == 1


def test_home_links_to_board_maps_and_offers_the_token_form(db, admin_a, tenant_a):
    from django.urls import reverse

    from tests.conftest import client_for
    from tests.factories import ConnectionFactory

    page = client_for(admin_a).get(reverse("home"))
    assert f'href="{reverse("connection-token", args=["monday"])}"'.encode() in page.content
    conn = ConnectionFactory(tenant=tenant_a, provider="monday", config={})
    page = client_for(admin_a).get(reverse("home"))
    assert f'href="{reverse("monday-maps", args=[conn.pk])}"'.encode() in page.content


def test_board_maps_in_the_admin_are_read_only_and_tenant_scoped(db, admin_a, admin_b, tenant_a):
    from django.urls import reverse

    from integrations.monday.models import BoardMap
    from tests.conftest import client_for
    from tests.factories import ConnectionFactory

    conn = ConnectionFactory(tenant=tenant_a, provider="monday", config={})
    bm = BoardMap.objects.create(
        tenant=tenant_a, connection=conn, record_type="invoice", board_id="1", board_name="Q4 invoices"
    )
    listing = reverse("admin:monday_boardmap_changelist")
    assert b"Q4 invoices" in client_for(admin_a).get(listing).content
    page = client_for(admin_a).get(reverse("admin:monday_boardmap_change", args=[bm.pk]))
    assert (
        page.status_code == 200 and b"Open the board map editor" in page.content and b'name="_save"' not in page.content
    )
    assert b"Q4 invoices" not in client_for(admin_b).get(listing).content
    assert client_for(admin_b).get(reverse("admin:monday_boardmap_change", args=[bm.pk])).status_code in (302, 404)
