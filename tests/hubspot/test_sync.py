"""Writing batches to HubSpot: each delivery its own outcome in a 207, limits waited for as told,
refused properties named, a digest schedule, and never a duplicate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from integrations.freshbooks.sandbox import records, seed_demo
from integrations.freshbooks.sandbox.state import KINDS
from integrations.hubspot import sandbox
from integrations.hubspot.client import seconds_to_midnight
from integrations.hubspot.sandbox import objects as crm
from mlconnector.pipeline.models import Delivery
from mlconnector.ratelimit import limiter
from mlconnector.webhooks.processing import process_inbound
from tests.conftest import client_for
from tests.freshbooks.helpers import sandbox_source
from tests.hubspot.helpers import hubspot_connection, run
from tests.pipeline_helpers import stored_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(tenant_a, admin_a):
    sandbox.reset()
    source = sandbox_source(tenant_a)
    hubspot = hubspot_connection(client_for(admin_a))
    # The books' polling backstop would deliver the demo clients too; here only the events below count.
    from django.utils import timezone

    from mlconnector.pipeline.models import ConnectionJob

    ConnectionJob.objects.update(next_attempt_at=timezone.now() + timedelta(days=1))
    return source, hubspot


def client_event(source, n: int, **fields):
    data = {
        "organization": f"Client {n}",
        "fname": "Pat",
        "lname": f"Number{n}",
        "email": f"pat{n}@example.com",
        **fields,
    }
    record, _ = records.create(seed_demo().businesses[0], KINDS["client"], data)
    process_inbound(stored_event(source, record=record, event_type="client.create", object_id=record["id"]).pk)
    return record


def test_one_refused_client_fails_alone_with_a_clear_message_and_its_neighbours_are_written(hub):
    source, hubspot = hub
    good = client_event(source, 1)
    bad = client_event(source, 2, email="pat@@example")
    also_good = client_event(source, 3)
    run()
    by_object = {d.event.object_id: d for d in Delivery.objects.filter(connection=hubspot).select_related("event")}
    assert by_object[str(good["id"])].status == "succeeded" and by_object[str(also_good["id"])].status == "succeeded"
    refused = by_object[str(bad["id"])]
    assert refused.status == "failed" and "Email address pat@@example is invalid" in refused.last_error
    assert {c["properties"]["email"] for c in sandbox.records("contacts")} == {"pat1@example.com", "pat3@example.com"}


def test_a_property_hubspot_refuses_is_named_and_the_delivery_waits_for_a_replay(hub):
    source, hubspot = hub
    # Someone deleted one of ml-connector's properties in HubSpot.
    crm.SandboxObject.objects.filter(kind="prop:contacts", object_id="freshbooks_overdue").delete()
    client_event(source, 1)
    run()
    delivery = Delivery.objects.get(connection=hubspot)
    assert delivery.status == "failed" and 'Property "freshbooks_overdue" does not exist' in delivery.last_error


def test_a_429_is_waited_for_and_the_batch_goes_through_without_a_failure(hub):
    source, hubspot = hub
    client_event(source, 1)
    sandbox.inject("429", match="contacts/batch")  # Retry-After 1 s: longer than a test sits out inline
    run(rounds=1)
    delivery = Delivery.objects.get(connection=hubspot)
    assert delivery.status == "retrying" and delivery.attempts == 0  # deferred as told, no attempt used
    assert 0 < (delivery.next_attempt_at - datetime.now(UTC)).total_seconds() <= 1.5
    assert limiter().blocked_for(f"hubspot:{sandbox.DEMO_HUB_ID}") > 0  # every worker waits for this hub
    time_passes(delivery)
    run()
    assert Delivery.objects.get(pk=delivery.pk).status == "succeeded"
    assert len(sandbox.records("contacts")) == 1


def test_a_423_lock_and_a_477_migration_are_waited_for_as_told(hub):
    source, hubspot = hub
    client_event(source, 1)
    sandbox.inject("477", match="contacts/batch", times=1)
    run(rounds=1)
    delivery = Delivery.objects.get(connection=hubspot)
    assert delivery.status == "retrying" and "Migration" in delivery.last_error and delivery.attempts == 0
    assert (delivery.next_attempt_at - datetime.now(UTC)).total_seconds() > 2  # Retry-After: 3
    sandbox.inject("423", match="contacts/batch", times=1)
    time_passes(delivery)
    run(rounds=1)
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and "Locked" in delivery.last_error and delivery.attempts == 0
    time_passes(delivery)
    run()
    assert Delivery.objects.get(pk=delivery.pk).status == "succeeded"


def time_passes(delivery) -> None:
    """The wait HubSpot asked for is over (the shared block and the delivery's time)."""
    limiter().reset()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=datetime.now(UTC))


def test_the_daily_limit_waits_until_midnight_in_the_hubs_time_zone():
    # 22:30 in New York is 03:30 UTC: midnight comes in 1.5 h there, not at 00:00 UTC (20.5 h away).
    with time_machine.travel(datetime(2026, 12, 2, 3, 30, tzinfo=UTC), tick=False):
        assert seconds_to_midnight("America/New_York") == pytest.approx(90 * 60)
        assert seconds_to_midnight("UTC") == pytest.approx(20.5 * 3600)


def test_a_daily_429_defers_the_delivery_to_the_hubs_midnight(hub):
    source, hubspot = hub
    client_event(source, 1)
    sandbox.inject("daily", match="contacts/batch")
    run(rounds=1)
    delivery = Delivery.objects.get(connection=hubspot)
    assert delivery.status == "retrying" and delivery.attempts == 0
    wait = (delivery.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert abs(wait - seconds_to_midnight("America/New_York")) < 60


def test_a_digest_schedule_holds_deliveries_until_the_next_slot(hub):
    source, hubspot = hub
    from mlconnector.connections import services

    services.update_config(hubspot, {"schedule": {"mode": "digest", "every_hours": 6}})
    with time_machine.travel(datetime(2026, 12, 2, 7, 10, tzinfo=UTC), tick=False):
        client_event(source, 1)
    delivery = Delivery.objects.get(connection=hubspot)
    assert delivery.next_attempt_at == datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_real_time_deliveries_of_a_burst_share_one_batch_call(hub):
    source, hubspot = hub
    for n in range(5):
        client_event(source, n)
    before = sandbox.stats().get("writes_contacts", 0)
    run()
    assert sandbox.stats()["writes_contacts"] - before == 1 and sandbox.stats()["inputs_contacts"] == 5
    assert all("in a batch of 5" in m for m in _delivered_messages(hubspot))


def _delivered_messages(conn) -> list[str]:
    from mlconnector.audit.models import AuditRecord

    return [r.message for r in AuditRecord.objects.filter(kind="delivery", connection=conn, outcome="ok")]


def test_a_client_without_an_email_is_matched_by_its_freshbooks_id_alone(hub):
    source, hubspot = hub
    record = client_event(source, 7, email="")
    run()
    contact = sandbox.record("contacts", str(record["id"]), "freshbooks_client_id")
    assert contact is not None and "email" not in contact["properties"]
    # Seen again (an update): the same contact, not a second one.
    process_inbound(
        stored_event(
            source, record={**record, "lname": "Renamed"}, event_type="client.update", object_id=record["id"]
        ).pk
    )
    run()
    assert len(sandbox.records("contacts")) == 1
    assert sandbox.records("contacts")[0]["properties"]["lastname"] == "Renamed"


def test_a_contact_already_in_hubspot_is_updated_not_duplicated(hub):
    source, hubspot = hub
    token = sandbox.issue_token()
    import requests

    from integrations.sandbox.inprocess import session

    s: requests.Session = session()
    made = s.post(
        "http://testserver/sandbox/hubspot/api/crm/v3/objects/contacts",
        json={"properties": {"email": "pat1@example.com", "firstname": "Typed by sales"}},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    client_event(source, 1)
    run()
    contacts = sandbox.records("contacts")
    assert len(contacts) == 1 and contacts[0]["id"] == made["id"]
    assert contacts[0]["properties"]["freshbooks_client_id"]


def test_calls_take_evenly_spaced_slots_of_the_budget_the_hubs_headers_announce(hub, settings):
    from django.core.cache import cache

    from integrations.hubspot.client import HubSpotClient

    source, hubspot = hub
    client = HubSpotClient(hubspot)
    client.account_details()  # the sandbox announces 190 requests per 10 s
    assert cache.get(f"hubspot:budget:{sandbox.DEMO_HUB_ID}") == (190, 10.0)
    cache.set(f"hubspot:budget:{sandbox.DEMO_HUB_ID}", (100, 10.0))
    limiter().reset()
    with time_machine.travel(datetime(2026, 12, 2, 15, 0, tzinfo=UTC), tick=False):
        waits = [client.pace("POST", "/crm/v3/objects/contacts/batch/upsert") for _ in range(4)]
        search = client.pace("POST", "/crm/v3/objects/contacts/search")
    slot = 0.1 * 1.03  # 10 s / 100, with the pacing margin
    assert waits == pytest.approx([0, slot, 2 * slot, 3 * slot])
    assert search == 0  # search has its own limit and its own queue
    # A queue longer than a batch may wait for goes back to the pipeline, reserving nothing.
    settings.HUBSPOT_MAX_PACING_WAIT = 0.5
    with time_machine.travel(datetime(2026, 12, 2, 15, 0, tzinfo=UTC), tick=False):
        for _ in range(3):
            client.pace("POST", "/crm/v3/objects/contacts/batch/upsert")
        assert client.pace("POST", "/crm/v3/objects/contacts/batch/upsert") > 0.5
