"""The three personas (admin of A, viewer of A, admin of B) on every page this area adds."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from mlconnector.pipeline.models import Delivery
from mlconnector.tenants.models import Invitation, Membership
from tests.conftest import client_for
from tests.factories import AuditRecordFactory, ConnectionFactory, DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {
    "connection-detail",
    "audit-events",
    "audit-event",
    "audit-replay-delivery",
    "audit-replay-failed",
    "tenant-team",
    "tenant-invite",
    "tenant-invitation-revoke",
    "invitation-accept",
}


@pytest.fixture
def world(tenant_a, tenant_b, personas):
    rows = {}
    for tenant, label in ((tenant_a, "a"), (tenant_b, "b")):
        source = ConnectionFactory(tenant=tenant, name=f"Books {label.upper()}")
        event = InboundEventFactory(connection=source, invoice_number=f"INV-{label.upper()}-77", counterparty="Acme")
        delivery = DeliveryFactory(event=event, last_error="HTTP 503 from the sink")
        AuditRecordFactory(tenant=tenant, event=event, kind="event.enriched", message=f"fetched for {label}")
        rows[label] = {"connection": source, "event": event, "delivery": delivery}
    return rows


def test_it_shows_a_connection_page_to_its_tenant_only(world, personas):
    url = reverse("connection-detail", args=[world["a"]["connection"].pk])
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert client_for(personas["viewer_a"]).get(url).status_code == 200
    assert client_for(personas["admin_b"]).get(url).status_code == 404


def test_it_lists_each_tenants_events_only(world, personas):
    url = reverse("audit-events")
    for persona, own, other in (("admin_a", "A", "B"), ("viewer_a", "A", "B"), ("admin_b", "B", "A")):
        page = client_for(personas[persona]).get(url).content.decode()
        assert f"INV-{own}-77" in page and f"INV-{other}-77" not in page, persona


def test_a_search_never_reaches_into_another_tenant(world, personas):
    page = client_for(personas["admin_b"]).get(reverse("audit-events"), {"q": "INV-A-77"})
    assert page.context["events"] == [] and b"No events match" in page.content


def test_it_shows_an_event_page_to_its_tenant_only(world, personas):
    url = reverse("audit-event", args=[world["a"]["event"].pk])
    assert client_for(personas["admin_a"]).get(url).status_code == 200
    assert b"fetched for a" in client_for(personas["viewer_a"]).get(url).content
    assert client_for(personas["admin_b"]).get(url).status_code == 404


def test_only_an_admin_of_the_tenant_replays_one_delivery(world, personas):
    target = world["a"]["delivery"]
    url = reverse("audit-replay-delivery", args=[target.pk])
    assert client_for(personas["admin_b"]).post(url).status_code == 404
    assert client_for(personas["viewer_a"]).post(url).status_code == 403
    target.refresh_from_db()
    assert target.replays == 0
    assert client_for(personas["admin_a"]).post(url).status_code == 302
    target.refresh_from_db()
    assert target.replays == 1


def test_bulk_replay_is_counted_for_everyone_and_run_by_admins_only(world, personas):
    url = reverse("audit-replay-failed")
    viewer_page = client_for(personas["viewer_a"]).get(url)
    assert viewer_page.status_code == 200 and b"Only admins of Acme Ltd can replay" in viewer_page.content
    assert client_for(personas["viewer_a"]).post(url, {}).status_code == 403
    # Tenant B's admin replays tenant B's failures, never A's.
    assert client_for(personas["admin_b"]).post(url, {}).status_code == 302
    assert Delivery.objects.get(pk=world["a"]["delivery"].pk).replays == 0
    assert Delivery.objects.get(pk=world["b"]["delivery"].pk).replays == 1


def test_the_team_page_lists_the_active_tenants_members_only(world, personas):
    url = reverse("tenant-team")
    page = client_for(personas["viewer_a"]).get(url).content.decode()
    assert "alice" in page and "victor" in page and "bob" not in page
    assert "Only admins of Acme Ltd can invite people." in page
    assert "bob" in client_for(personas["admin_b"]).get(url).content.decode()


def test_only_admins_invite_into_their_own_tenant(world, personas, tenant_a):
    url = reverse("tenant-invite")
    data = {"email": "new@example.com", "role": "viewer"}
    assert client_for(personas["viewer_a"]).post(url, data).status_code == 403
    assert not Invitation.objects.exists() and not mail.outbox
    assert client_for(personas["admin_b"]).post(url, data).status_code == 302
    assert Invitation.objects.get().tenant.name == "Bravo plc"  # B's admin can only invite into B
    assert client_for(personas["admin_a"]).post(url, data).status_code == 302
    assert Invitation.objects.filter(tenant=tenant_a).count() == 1


def test_only_an_admin_of_the_tenant_withdraws_an_invitation(world, personas, tenant_a):
    client_for(personas["admin_a"]).post(reverse("tenant-invite"), {"email": "new@example.com", "role": "admin"})
    invitation = Invitation.objects.get()
    url = reverse("tenant-invitation-revoke", args=[invitation.pk])
    assert client_for(personas["admin_b"]).post(url).status_code == 404
    assert client_for(personas["viewer_a"]).post(url).status_code == 403
    invitation.refresh_from_db()
    assert invitation.revoked_at is None
    assert client_for(personas["admin_a"]).post(url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_an_invitation_link_adds_whoever_holds_it_to_that_tenant_only(world, personas, tenant_a):
    client_for(personas["admin_a"]).post(reverse("tenant-invite"), {"email": "bob@example.com", "role": "viewer"})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/invitations/" in line)
    path = link.split("testserver", 1)[1]
    # bob (admin of B) owns bob@example.com: he joins A as a viewer, and gains nothing more.
    bob = client_for(personas["admin_b"])
    assert bob.get(path).status_code == 200
    assert bob.post(path).status_code == 302
    assert Membership.objects.get(user=personas["admin_b"], tenant=tenant_a).role == "viewer"
    # A viewer cannot use that to change anything in A.
    conn = world["a"]["connection"]
    assert bob.post(reverse("connection-status", args=[conn.pk]), {"action": "pause"}).status_code == 403
