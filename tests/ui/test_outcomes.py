"""An event's badge tells the truth about its deliveries, and the filters follow what the badge says."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mlconnector.connections.models import Connection
from tests.conftest import client_for
from tests.factories import ConnectionFactory, DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(tenant_a):
    return ConnectionFactory(tenant=tenant_a, name="Books")


def slack(tenant, status=Connection.Status.ACTIVE):
    return ConnectionFactory(tenant=tenant, provider="slack", status=status, credentials={}, config={})


def badge(client, event) -> str:
    page = client.get(reverse("audit-event", args=[event.pk])).content.decode()
    return page.split('<span class="badge tone-')[1].split("</span>")[0].split('">')[1]


@pytest.mark.parametrize(
    "statuses, expected",
    [
        (["succeeded"], "Delivered"),
        (["succeeded", "succeeded"], "Delivered to all 2"),
        (["succeeded", "failed"], "1 of 2 failed"),
        (["failed"], "Failed"),
        (["succeeded", "pending"], "Delivering (1 of 2 done)"),
        (["skipped"], "Nothing to send"),
        (["succeeded", "skipped"], "Delivered"),  # nothing to send is counted apart
        ([], "Nothing connected takes it"),
    ],
)
def test_a_processed_events_badge_summarises_its_deliveries(books, admin_a, statuses, expected):
    event = InboundEventFactory(connection=books)
    for status in statuses:
        DeliveryFactory(event=event, status=status)
    assert badge(client_for(admin_a), event) == expected


def test_a_delivery_parked_for_a_reconnect_says_who_must_be_reconnected(books, admin_a, tenant_a):
    event = InboundEventFactory(connection=books)
    DeliveryFactory(event=event, status="succeeded")
    DeliveryFactory(event=event, status="waiting", connection=slack(tenant_a, Connection.Status.NEEDS_RECONNECT))
    client = client_for(admin_a)
    assert badge(client, event) == "Waiting for Slack to be reconnected"
    home = client.get(reverse("home")).content.decode()
    assert "Waiting for Slack to be reconnected" in home and ">Processed<" not in home


def test_the_failed_filter_finds_a_processed_event_whose_delivery_failed(books, admin_a):
    broken = InboundEventFactory(connection=books, invoice_number="0000777")
    DeliveryFactory(event=broken, status="succeeded")
    DeliveryFactory(event=broken, status="failed")
    fine = InboundEventFactory(connection=books, invoice_number="0000778")
    DeliveryFactory(event=fine, status="succeeded")
    page = client_for(admin_a).get(reverse("audit-events"), {"status": "failed"})
    assert [e.pk for e in page.context["events"]] == [broken.pk]
    assert "1 of 2 failed" in page.content.decode()


def test_nothing_to_send_has_its_own_delivery_filter(books, admin_a):
    quiet = InboundEventFactory(connection=books)
    DeliveryFactory(event=quiet, status="skipped")
    DeliveryFactory(event=InboundEventFactory(connection=books), status="succeeded")
    page = client_for(admin_a).get(reverse("audit-events"), {"delivery": "skipped"})
    assert [e.pk for e in page.context["events"]] == [quiet.pk]
    assert 'value="skipped" selected>Nothing to send</option>' in page.content.decode()


def test_a_filter_that_matches_nothing_says_so_not_that_there_are_no_events(books, admin_a):
    InboundEventFactory(connection=books)
    client = client_for(admin_a)
    text = client.get(reverse("audit-events"), {"q": "no such client"}).content.decode()
    assert "No events match this filter" in text and "clear the filter" in text and "No events yet" not in text
    text = client.get(reverse("audit-events"), {"status": "nonsense"}).content.decode()
    assert "This filter cannot be used as it stands" in text and "No events yet" not in text


def test_a_call_that_failed_inside_an_http_200_says_what_failed_in_words(books, admin_a):
    from tests.factories import AuditRecordFactory

    event = InboundEventFactory(connection=books)
    AuditRecordFactory(
        tenant=event.tenant,
        event=event,
        kind="http",
        provider="slack",
        outcome="error",
        method="POST",
        url="https://slack.com/api/chat.postMessage",
        status_code=200,
        message="Slack refused chat.postMessage: not_in_channel (HTTP 200)",
    )
    page = client_for(admin_a).get(reverse("audit-event", args=[event.pk])).content.decode()
    assert "Call to Slack" in page and ">Failed</span>" in page
    assert "HTTP 200, with an error inside the answer" in page
    assert "The app cannot post in that Slack channel" in page
    assert "Call Error" not in page


@pytest.mark.parametrize(
    "event_type, words",
    [
        ("invoice.create", "Invoice created"),
        ("invoice.update", "Invoice updated"),
        ("payment.create", "Payment received"),
        ("bill_vendor.delete", "Bill vendor deleted"),
        ("invoice.sendByEmail", "Invoice emailed"),
    ],
)
def test_event_types_read_as_words(books, admin_a, event_type, words):
    event = InboundEventFactory(connection=books, event_type=event_type)
    client = client_for(admin_a)
    assert f"{words} " in client.get(reverse("audit-event", args=[event.pk])).content.decode()
    assert f"{words} <span" in client.get(reverse("audit-events")).content.decode()


def test_a_delivery_waiting_for_a_slack_channel_says_so_not_reconnect(books, admin_a, tenant_a):
    event = InboundEventFactory(connection=books)
    DeliveryFactory(
        event=event,
        status="waiting",
        connection=slack(tenant_a),
        last_error="Posted to #accounting. Waiting for the channel — #exec-alerts is archived. It goes out by itself.",
    )
    assert badge(client_for(admin_a), event) == "Waiting for Slack: #exec-alerts is archived"
