"""Tenant isolation for the three personas (admin of A, viewer of A, admin of B) on every view."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mlconnector.admin_site import admin_site
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.models import Delivery
from tests.conftest import client_for
from tests.factories import AuditRecordFactory, ConnectionFactory, DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db

SECRET_INVOICE = "INV-A-SECRET"


@pytest.fixture
def world(tenant_a, tenant_b, personas):
    """One of everything in each tenant; tenant A's rows carry a recognisable invoice number."""
    rows = {}
    for tenant, label in ((tenant_a, "a"), (tenant_b, "b")):
        source = ConnectionFactory(tenant=tenant, name=f"Books {label.upper()}")
        event = InboundEventFactory(connection=source, invoice_number=SECRET_INVOICE if label == "a" else "INV-B-1")
        delivery = DeliveryFactory(event=event)
        audit = AuditRecordFactory(
            tenant=tenant,
            event=event,
            delivery=delivery,
            object_id=event.object_id,
            invoice_number=event.invoice_number,
        )
        rows[label] = {"connection": source, "event": event, "delivery": delivery, "audit": audit}
    return rows


# --- the pages ------------------------------------------------------------------------------


def test_home_shows_each_persona_only_their_tenant(world, personas):
    assert b"Books A" in client_for(personas["admin_a"]).get("/").content
    assert b"Books A" in client_for(personas["viewer_a"]).get("/").content
    page = client_for(personas["admin_b"]).get("/").content
    assert b"Books B" in page and b"Books A" not in page


def test_home_lists_recent_events_of_the_tenant_only(world, personas):
    assert SECRET_INVOICE.encode() in client_for(personas["viewer_a"]).get("/").content
    assert SECRET_INVOICE.encode() not in client_for(personas["admin_b"]).get("/").content


def test_anonymous_visitors_are_sent_to_sign_in(world):
    from django.test import Client

    response = Client().get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("action", ["pause", "disconnect"])
def test_only_an_admin_of_the_tenant_can_change_a_connection(world, personas, action):
    conn = world["a"]["connection"]
    url = reverse("connection-status", args=[conn.pk])
    assert client_for(personas["admin_b"]).post(url, {"action": action}).status_code == 404
    assert client_for(personas["viewer_a"]).post(url, {"action": action}).status_code == 403
    conn.refresh_from_db()
    assert conn.status == "active"
    assert client_for(personas["admin_a"]).post(url, {"action": action}).status_code == 302
    conn.refresh_from_db()
    assert conn.status != "active"


def test_another_tenants_connection_cannot_be_tested_or_chosen(world, personas):
    conn = world["a"]["connection"]
    assert client_for(personas["admin_b"]).post(reverse("connection-test", args=[conn.pk])).status_code == 404
    assert client_for(personas["admin_b"]).get(reverse("connection-choose", args=[conn.pk])).status_code == 404
    assert client_for(personas["viewer_a"]).get(reverse("connection-choose", args=[conn.pk])).status_code == 403


def test_a_viewer_cannot_start_an_onboarding(world, personas):
    assert client_for(personas["viewer_a"]).get(reverse("connection-connect", args=["freshbooks"])).status_code == 403


def test_nobody_can_switch_into_a_tenant_they_do_not_belong_to(world, personas, tenant_a):
    response = client_for(personas["admin_b"]).post(reverse("switch-tenant"), {"tenant": tenant_a.pk})
    assert response.status_code == 404


# --- the admin ------------------------------------------------------------------------------

SCOPED_MODELS = ["connection", "inboundevent", "delivery", "auditrecord"]


def admin_url(world, label, model, view="changelist"):
    row = {"connection": "connection", "inboundevent": "event", "delivery": "delivery", "auditrecord": "audit"}[model]
    obj = world[label][row]
    app = obj._meta.app_label
    if view == "changelist":
        return reverse(f"admin:{app}_{model}_changelist")
    return reverse(f"admin:{app}_{model}_change", args=[obj.pk])


@pytest.mark.parametrize("model", SCOPED_MODELS)
def test_admin_lists_only_the_users_tenants(world, personas, model):
    for persona, own, other in (("admin_a", "a", "b"), ("viewer_a", "a", "b"), ("admin_b", "b", "a")):
        response = client_for(personas[persona]).get(admin_url(world, own, model))
        assert response.status_code == 200, persona
        pks = {obj.pk for obj in response.context["cl"].result_list}
        row = {"connection": "connection", "inboundevent": "event", "delivery": "delivery", "auditrecord": "audit"}
        assert world[own][row[model]].pk in pks
        assert world[other][row[model]].pk not in pks


@pytest.mark.parametrize("model", SCOPED_MODELS)
def test_admin_hides_another_tenants_row_by_id(world, personas, model):
    response = client_for(personas["admin_b"]).get(admin_url(world, "a", model, "change"))
    assert response.status_code == 302  # "doesn't exist", back to the index
    assert client_for(personas["admin_a"]).get(admin_url(world, "a", model, "change")).status_code == 200


def test_admin_search_does_not_reach_into_another_tenant(world, personas):
    url = reverse("admin:webhooks_inboundevent_changelist") + f"?q={SECRET_INVOICE}"
    assert len(client_for(personas["admin_b"]).get(url).context["cl"].result_list) == 0
    assert len(client_for(personas["admin_a"]).get(url).context["cl"].result_list) == 1
    url = reverse("admin:audit_auditrecord_changelist") + f"?q={SECRET_INVOICE}"
    assert len(client_for(personas["admin_b"]).get(url).context["cl"].result_list) == 0


def test_admin_export_contains_only_the_users_rows(world, personas):
    url = reverse("admin:webhooks_inboundevent_changelist")
    both = [world["a"]["event"].pk, world["b"]["event"].pk]
    response = client_for(personas["admin_b"]).post(url, {"action": "export_csv", "_selected_action": both})
    assert response.status_code == 200
    assert SECRET_INVOICE.encode() not in response.content and b"INV-B-1" in response.content


def test_admin_replay_action_cannot_touch_another_tenant_or_be_used_by_a_viewer(world, personas):
    url = reverse("admin:pipeline_delivery_changelist")
    target = world["a"]["delivery"]
    client_for(personas["admin_b"]).post(url, {"action": "replay", "_selected_action": [target.pk], "confirm": "yes"})
    client_for(personas["viewer_a"]).post(url, {"action": "replay", "_selected_action": [target.pk], "confirm": "yes"})
    target.refresh_from_db()
    assert target.status == "failed" and target.replays == 0
    assert not AuditRecord.objects.filter(kind=AuditRecord.Kind.REPLAY).exists()


def test_admin_replay_shows_the_count_before_it_runs(world, personas):
    url = reverse("admin:pipeline_delivery_changelist")
    target = world["a"]["delivery"]
    response = client_for(personas["admin_a"]).post(url, {"action": "replay", "_selected_action": [target.pk]})
    assert response.status_code == 200 and b"Replay 1 deliveries" in response.content
    target.refresh_from_db()
    assert target.replays == 0  # nothing happened yet


def test_admin_payloads_are_for_tenant_admins_only(world, personas):
    event = world["a"]["event"]
    type(event).objects.filter(pk=event.pk).update()
    event.payload = {"invoice_number": SECRET_INVOICE, "note": "payload-marker"}
    event.save()
    url = reverse("admin:webhooks_inboundevent_change", args=[event.pk])
    assert b"payload-marker" in client_for(personas["admin_a"]).get(url).content
    assert b"payload-marker" not in client_for(personas["viewer_a"]).get(url).content


def test_admin_viewers_cannot_edit_connections(world, personas):
    conn = world["a"]["connection"]
    url = reverse("admin:connections_connection_change", args=[conn.pk])
    response = client_for(personas["viewer_a"]).post(
        url, {"tenant": conn.tenant_id, "provider": "freshbooks", "name": "hijacked", "config": "{}"}
    )
    assert response.status_code == 403
    conn.refresh_from_db()
    assert conn.name != "hijacked"


def test_admin_tenant_choices_are_limited_to_the_users_admin_tenants(world, personas, tenant_a):
    response = client_for(personas["admin_b"]).get(reverse("admin:connections_connection_add"))
    choices = [str(c[0]) for c in response.context["adminform"].form.fields["tenant"].choices]
    assert str(tenant_a.pk) not in choices


# --- the API --------------------------------------------------------------------------------

API_ROWS = {"connections": "connection", "events": "event", "deliveries": "delivery", "audit": "audit"}


@pytest.mark.parametrize("name", sorted(API_ROWS))
def test_api_lists_and_details_are_scoped(world, personas, name):
    row = API_ROWS[name]
    for persona, own, other in (("admin_a", "a", "b"), ("viewer_a", "a", "b"), ("admin_b", "b", "a")):
        client = client_for(personas[persona])
        ids = {r["id"] for r in client.get(f"/api/{name}/").json()["results"]}
        assert world[own][row].pk in ids and world[other][row].pk not in ids
        assert client.get(f"/api/{name}/{world[other][row].pk}/").status_code == 404


def test_api_filters_cannot_reach_into_another_tenant(world, personas):
    response = client_for(personas["admin_b"]).get(f"/api/events/?invoice_number={SECRET_INVOICE}")
    assert response.json()["results"] == []
    mine = client_for(personas["admin_a"]).get(f"/api/events/?invoice_number={SECRET_INVOICE}").json()["results"]
    assert [e["invoice_number"] for e in mine] == [SECRET_INVOICE]  # the search works: B's answer was empty


def test_api_replay_needs_an_admin_of_the_rows_tenant(world, personas):
    target = world["a"]["delivery"]
    assert client_for(personas["admin_b"]).post(f"/api/deliveries/{target.pk}/replay/").status_code == 404
    assert client_for(personas["viewer_a"]).post(f"/api/deliveries/{target.pk}/replay/").status_code == 403
    target.refresh_from_db()
    assert target.replays == 0


def test_api_requires_a_signed_in_user(world):
    from django.test import Client

    assert Client().get("/api/events/").status_code == 403


# --- coverage: a new view without a persona test fails here ---------------------------------

COVERED_VIEWS = {
    "home",
    "switch-tenant",
    "connection-connect",
    "connection-callback",
    "connection-choose",
    "connection-test",
    "connection-status",
    "webhook",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def _names(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.app_name in ("admin",) or str(p.pattern).startswith(("sandbox/", "api/")):
                continue
            yield from _names(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield p.name


def _covered_elsewhere() -> set[str]:
    """Each area's persona tests (tests/<area>/test_personas*.py) list the views they cover."""
    import importlib
    import pathlib

    covered: set[str] = set()
    root = pathlib.Path(__file__).resolve().parents[1]
    for path in root.glob("*/test_personas*.py"):
        module = importlib.import_module(f"tests.{path.parent.name}.{path.stem}")
        covered |= set(module.COVERED_VIEWS)
    return covered


def test_every_app_view_has_a_persona_test():
    names = set(_names(get_resolver().url_patterns)) - {None}
    missing = names - COVERED_VIEWS - _covered_elsewhere()
    assert missing == set(), "add persona tests for these views, then list them in that area's COVERED_VIEWS"


def test_every_admin_model_is_tenant_scoped():
    from mlconnector.admin_site import TenantScopedAdmin
    from mlconnector.pipeline.queue_admin import SuperuserOnly
    from mlconnector.tenants.admin import ScopedUserAdmin, TenantAdmin

    for model, model_admin in admin_site._registry.items():
        scoped = isinstance(model_admin, TenantScopedAdmin | TenantAdmin | ScopedUserAdmin | SuperuserOnly)
        assert scoped or model._meta.app_label == "auth", model


def test_the_task_queue_admin_is_for_superusers_only(personas):
    response = client_for(personas["admin_a"]).get(reverse("admin:django_q_schedule_changelist"))
    assert response.status_code == 403


def test_a_delivery_for_tenant_a_is_invisible_to_tenant_b_tasks(world, tenant_b):
    assert not Delivery.objects.for_tenant(tenant_b).filter(pk=world["a"]["delivery"].pk).exists()


def test_the_event_page_tells_its_story_in_order(world, personas):
    from tests.factories import AuditRecordFactory

    event = world["a"]["event"]
    AuditRecordFactory(tenant=event.tenant, event=event, kind="event.enriched", message="fetched invoice 42")
    page = client_for(personas["viewer_a"]).get(reverse("admin:webhooks_inboundevent_change", args=[event.pk]))
    assert page.status_code == 200 and b"fetched invoice 42" in page.content and b"Timeline" in page.content


def test_every_api_route_answers_with_its_format_suffix(world, personas):
    client = client_for(personas["admin_a"])
    a = world["a"]
    for path in (
        "/api/connections.json",
        f"/api/connections/{a['connection'].pk}.json",
        "/api/events.json",
        f"/api/events/{a['event'].pk}.json",
        "/api/deliveries.json",
        f"/api/deliveries/{a['delivery'].pk}.json",
        "/api/audit.json",
        f"/api/audit/{a['audit'].pk}.json",
    ):
        response = client.get(path)
        assert response.status_code == 200 and response["Content-Type"].startswith("application/json"), path
    from unittest import mock

    with mock.patch("mlconnector.pipeline.dispatcher.enqueue_deliveries"):
        response = client.post(f"/api/deliveries/{a['delivery'].pk}/replay.json")
    assert response.status_code == 200 and "queued" in response.json()
