"""The onboarding home and the connection page: provider states, health in words, actions by role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from mlconnector.connections.models import Connection
from mlconnector.contract import registry
from mlconnector.pipeline.models import Delivery
from tests.conftest import client_for
from tests.factories import ConnectionFactory, DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db


def provider_card(page: str, provider: str) -> str:
    start = page.index(f'data-provider="{provider}"')
    return page[start : page.index("</section>", start)]


@pytest.fixture
def listed_sink(monkeypatch):
    """The test-only sink is not offered on the home page; these tests use it as a token provider."""
    monkeypatch.setattr(registry.get("testsink"), "listed", True)


def test_it_lists_every_registered_provider_with_its_state(tenant_a, admin_a, listed_sink):
    ConnectionFactory(tenant=tenant_a, provider="freshbooks", name="Demo Books")
    page = client_for(admin_a).get("/").content.decode()
    for cls in registry.all():
        assert (f'data-provider="{cls.provider}"' in page) == cls.listed, cls.provider
    assert "connected</span>" in provider_card(page, "freshbooks")
    assert "not connected</span>" in provider_card(page, "testsink")


def test_an_unlisted_integration_is_only_shown_once_connected(tenant_a, admin_a):
    page = client_for(admin_a).get("/").content.decode()
    assert 'data-provider="testsink"' not in page and 'data-provider="slack"' in page
    ConnectionFactory(tenant=tenant_a, provider="testsink")
    assert 'data-provider="testsink"' in client_for(admin_a).get("/").content.decode()


def test_connect_starts_the_oauth_flow_or_says_where_to_connect(tenant_a, admin_a, listed_sink):
    page = client_for(admin_a).get("/").content.decode()
    assert f'href="{reverse("connection-connect", args=["freshbooks"])}"' in provider_card(page, "freshbooks")
    sink = provider_card(page, "testsink")  # a token provider: the token form (another team's view)
    assert f'href="{reverse("connection-token", args=["testsink"])}"' in sink


def test_without_a_connect_page_the_card_says_where_to_connect(tenant_a, admin_a, monkeypatch, listed_sink):
    from django.urls import NoReverseMatch

    from mlconnector.connections import views

    def no_token_view(name, *args, **kwargs):
        if name == "connection-token":
            raise NoReverseMatch(name)
        return reverse(name, *args, **kwargs)

    monkeypatch.setattr(views, "reverse", no_token_view)
    page = client_for(admin_a).get("/").content.decode()
    assert "Test sink is connected in the admin for now." in provider_card(page, "testsink")


@pytest.mark.parametrize(
    ("status", "error", "expected", "fix"),
    [
        (
            "needs_reconnect",
            "Slack said token_revoked",
            "Token revoked or expired 3\xa0hours ago — 2 invoices waiting",
            "Reconnect",
        ),
        ("paused", "", "Paused 3\xa0hours ago — 2 invoices held", "Resume"),
    ],
)
def test_health_says_what_is_wrong_since_when_and_what_waits(tenant_a, admin_a, status, error, expected, fix):
    source = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    target = ConnectionFactory(
        tenant=tenant_a,
        provider="testsink",
        status=status,
        last_error=error,
        status_changed_at=timezone.now() - timedelta(hours=3, minutes=1),
    )
    for _ in range(2):
        DeliveryFactory(event=InboundEventFactory(connection=source), connection=target, status="waiting")
    client = client_for(admin_a)
    card = provider_card(client.get("/").content.decode(), "testsink")
    assert expected in card and fix in card
    detail = client.get(reverse("connection-detail", args=[target.pk])).content.decode()
    assert expected in detail


def test_failed_deliveries_offer_replay_with_the_count(tenant_a, admin_a):
    target = ConnectionFactory(
        tenant=tenant_a, provider="testsink", last_error="HTTP 503 Service Unavailable", last_error_at=timezone.now()
    )
    for _ in range(3):
        DeliveryFactory(connection=target, event=InboundEventFactory(tenant=tenant_a, connection__tenant=tenant_a))
    card = provider_card(client_for(admin_a).get("/").content.decode(), "testsink")
    assert "3 deliveries failed — last: Test sink was unavailable" in card
    assert f"{reverse('audit-replay-failed')}?connection={target.pk}&amp;delivery=failed" in card
    assert "Replay 3 failed" in card


def test_a_viewer_sees_the_actions_disabled_and_why(tenant_a, viewer_a):
    ConnectionFactory(tenant=tenant_a, provider="freshbooks", status="needs_reconnect", last_error="401 Unauthorized")
    page = client_for(viewer_a).get("/").content.decode()
    card = provider_card(page, "freshbooks")
    assert "Only admins of Acme Ltd can reconnect, pause, resume, replay or disconnect FreshBooks" in card
    assert 'disabled aria-describedby="ro-' in card and 'action="/connections/' in card  # Test stays usable
    assert "/connect/" not in card
    assert "Only admins of Acme Ltd can connect or change apps" in page
    assert 'disabled aria-describedby="viewer-connect">Connect Slack' in page


def test_an_action_lands_back_on_the_page_it_was_pressed_on(tenant_a, admin_a):
    conn = ConnectionFactory(tenant=tenant_a, provider="testsink")
    detail = reverse("connection-detail", args=[conn.pk])
    client = client_for(admin_a)
    response = client.post(reverse("connection-status", args=[conn.pk]), {"action": "pause", "next": detail})
    assert response["Location"] == detail
    page = client.get(detail).content.decode()
    assert "Test sink is paused: deliveries to it are held until you resume." in page
    # An outside `next` is ignored.
    response = client.post(
        reverse("connection-status", args=[conn.pk]), {"action": "resume", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_the_tenant_switcher_moves_between_a_users_tenants(tenant_a, tenant_b, admin_a):
    from tests.factories import MembershipFactory

    MembershipFactory(tenant=tenant_b, user=admin_a, role="viewer")
    ConnectionFactory(tenant=tenant_b, provider="freshbooks", name="Bravo Books")
    client = client_for(admin_a)
    page = client.get("/").content.decode()
    assert 'id="tenant-switch"' in page and "Bravo Books" not in page
    page = client.post(reverse("switch-tenant"), {"tenant": tenant_b.pk}, follow=True).content.decode()
    assert "You are now working in Bravo plc." in page and "Bravo Books" in page
    assert 'class="badge role-viewer"' in page


def test_pausing_holds_deliveries_and_resuming_drains_them(tenant_a, admin_a):
    from mlconnector.pipeline import dispatcher
    from tests.freshbooks.helpers import sandbox_source
    from tests.pipeline_helpers import sink_connection, stored_event
    from tests.testsink.sandbox import effect_count

    source, sink = sandbox_source(tenant_a), sink_connection(tenant_a)
    client = client_for(admin_a)
    client.post(reverse("connection-status", args=[sink.pk]), {"action": "pause"})
    stored_event(source)
    dispatcher.tick()
    delivery = Delivery.objects.get(connection=sink)
    assert delivery.status == "waiting" and effect_count() == 0
    card = provider_card(client.get("/").content.decode(), "testsink")
    assert "1 invoice held" in card
    client.post(reverse("connection-status", args=[sink.pk]), {"action": "resume"})
    dispatcher.tick()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and effect_count() == 1
    sink.refresh_from_db()
    assert sink.status == Connection.Status.ACTIVE
