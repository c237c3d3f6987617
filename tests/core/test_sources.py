"""Consumption is keyed by source provider and event type: a `payment.create` from another source is
not a FreshBooks payment, and the audit browser tells them apart."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mlconnector.contract import registry
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.processing import process_inbound
from tests.conftest import client_for
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import sink_connection, stored_event
from tests.testsink.sandbox import effect_count

pytestmark = pytest.mark.django_db

OTHER_PAYMENT = {"id": "PM001", "reference": "PM001", "amount": "120.00", "currency": "GBP", "customer": "Hooli"}


@pytest.fixture
def other_source(tenant_a):
    return ConnectionFactory(tenant=tenant_a, provider="testsource", credentials={}, config={})


def test_it_delivers_a_type_only_from_the_source_a_target_consumes_it_from(tenant_a, other_source):
    sink_connection(tenant_a)  # consumes FreshBooks' payment.create, nothing of testsource's
    event = stored_event(other_source, record=OTHER_PAYMENT, event_type="payment.create", object_id="PM001")
    process_inbound(event.pk)
    event.refresh_from_db()
    assert event.status == "processed"
    assert not Delivery.objects.exists() and effect_count() == 0


def test_it_still_delivers_the_same_type_from_freshbooks(tenant_a, other_source):
    sink_connection(tenant_a)
    payment = {"id": 77, "amount": {"amount": "120.00", "code": "USD"}, "updated": "2026-11-21 09:00:00"}
    event = stored_event(sandbox_source(tenant_a), record=payment, event_type="payment.create", object_id="77")
    process_inbound(event.pk)
    assert Delivery.objects.get().status == "succeeded" and effect_count() == 1


def test_every_declared_handler_names_a_type_its_source_produces_and_a_method_that_exists():
    problems = []
    for target in registry.all():
        for source, handlers in target.sync_handlers.items():
            produced = registry.get(source).produces if source in registry.providers() else None
            for event_type, method in handlers.items():
                if produced is not None and event_type not in produced:
                    problems.append(f"{target.provider} consumes {source} {event_type}, which {source} never produces")
                if not callable(getattr(target, method, None)):
                    problems.append(f"{target.provider} has no method {method} for {source} {event_type}")
    assert problems == []


def test_the_audit_filter_tells_the_same_type_from_two_sources_apart(tenant_a, admin_a, other_source):
    payment = {"id": 77, "amount": {"amount": "120.00", "code": "USD"}, "updated": "2026-11-21 09:00:00"}
    fb = stored_event(sandbox_source(tenant_a), record=payment, event_type="payment.create", object_id="77")
    other = stored_event(other_source, record=OTHER_PAYMENT, event_type="payment.create", object_id="PM001")
    client = client_for(admin_a)
    url = reverse("audit-events")

    def found(value):
        page = client.get(url, {"event_type": value})
        assert page.status_code == 200
        return {e.pk for e in page.context["events"]}

    assert found("freshbooks:payment.create") == {fb.pk}
    assert found("testsource:payment.create") == {other.pk}
    # An unqualified type from an old link means its one source when there is one; here there are two.
    assert found("payments.confirmed") == set()
    page = client.get(url)
    assert b'<optgroup label="Test source">' in page.content and b'value="testsource:payment.create"' in page.content
