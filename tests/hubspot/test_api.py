"""HubSpot through the REST API (/api/v1/hubspot/<connection>/): the schedule with the connection page's
own validation, whether HubSpot takes invoices and how many wait, and "check invoice support now";
viewers read, admins change, another tenant's token finds nothing, every change audited with the token."""

from __future__ import annotations

import pytest
from django.utils import timezone

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import today as books_today
from integrations.hubspot import sandbox
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import ConnectionJob
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks
from tests.hubspot.helpers import console, hubspot_connection, run
from tests.hubspot.test_invoice_support import northwind

pytestmark = pytest.mark.django_db


@pytest.fixture
def hubspot(personas):
    sandbox.reset()
    return hubspot_connection(client_for(personas["admin_a"]))


def schedule_of(conn) -> dict:
    return Connection.objects.get(pk=conn.pk).config.get("schedule")


def api_messages() -> list[str]:
    return [r.message for r in AuditRecord.objects.filter(kind=AuditRecord.Kind.API).order_by("pk")]


def test_the_schedule_round_trips_and_each_change_is_audited_with_the_token(hubspot, api):
    url = f"/api/v1/hubspot/{hubspot.pk}/schedule/"
    assert api["viewer_a"].get(url).json() == {"mode": "realtime", "every_hours": None}
    answer = api["admin_a"].patch(url, {"mode": "digest", "every_hours": 6})
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"mode": "digest", "every_hours": 6}
    assert schedule_of(hubspot) == {"mode": "digest", "every_hours": 6}  # what the page's form saves
    assert api["viewer_a"].get(f"/api/v1/hubspot/{hubspot.pk}/schedule.json").json()["every_hours"] == 6
    # PATCH keeps what it does not name: new hours for the digest, then back to real time.
    assert api["admin_a"].patch(url, {"every_hours": "12"}).json() == {"mode": "digest", "every_hours": 12}
    assert api["admin_a"].patch(url, {"mode": "realtime"}).json() == {"mode": "realtime", "every_hours": None}
    assert schedule_of(hubspot) == {"mode": "realtime"}
    assert api_messages() == [f"PATCH {url} by alice with API token “admin_a script”"] * 3
    changes = [r.message for r in AuditRecord.objects.filter(kind=AuditRecord.Kind.CONNECTION, connection=hubspot)]
    assert "HubSpot schedule: a digest every 6 h" in changes and "HubSpot schedule: real time" in changes


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "digest", "every_hours": 0}, "every_hours"),
        ({"mode": "digest", "every_hours": 25}, "every_hours"),
        ({"mode": "digest", "every_hours": 4.5}, "every_hours"),
        ({"mode": "digest", "every_hours": "six"}, "every_hours"),
        ({"mode": "digest", "every_hours": True}, "every_hours"),
        ({"mode": "digest"}, "every_hours"),  # real time now: a digest needs its hours
        ({"mode": "weekly"}, "mode"),
        ({"mode": None}, "mode"),
        ({"hours": 4}, "hours"),
    ],
)
def test_a_bad_schedule_is_refused_naming_its_field_and_nothing_changes(hubspot, api, body, field):
    answer = api["admin_a"].patch(f"/api/v1/hubspot/{hubspot.pk}/schedule/", body)
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert schedule_of(hubspot) == {"mode": "realtime"}
    assert api_messages() == []


def test_viewers_cannot_change_the_schedule_or_check_and_another_tenant_finds_nothing(hubspot, api):
    base = f"/api/v1/hubspot/{hubspot.pk}"
    for answer in (
        api["viewer_a"].patch(f"{base}/schedule/", {"mode": "digest", "every_hours": 6}),
        api["viewer_a"].post(f"{base}/invoices/check/"),
    ):
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "permission_denied"
    for answer in (
        api["admin_b"].get(f"{base}/schedule/"),
        api["admin_b"].patch(f"{base}/schedule/", {"mode": "digest", "every_hours": 6}),
        api["admin_b"].get(f"{base}/invoices/"),
        api["admin_b"].post(f"{base}/invoices/check/"),
    ):
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert schedule_of(hubspot) == {"mode": "realtime"}
    assert api_messages() == []


def test_a_hub_taking_invoices_says_so_and_nothing_waits(hubspot, api):
    state = api["viewer_a"].get(f"/api/v1/hubspot/{hubspot.pk}/invoices/").json()
    assert state["available"] is True and state["held"] == 0 and state["reason"] == ""
    assert state["last_check"] is None and state["next_check_at"]


def test_held_invoices_are_counted_and_checking_now_through_the_api_releases_them(hubspot, api, personas):
    seed_demo()
    connect_freshbooks(client_for(personas["admin_a"]))
    sandbox.set_invoice_writes("missing_scope")
    for amount in ("700.00", "300.00"):
        console(
            "invoice",
            customerid=northwind()["id"],
            amount=amount,
            currency_code="USD",
            due_date=books_today().isoformat(),
        )
    run()
    url = f"/api/v1/hubspot/{hubspot.pk}/invoices/"
    state = api["viewer_a"].get(url).json()
    assert state["available"] is False and state["held"] == 2 and "scope" in state["reason"] and state["since"]

    sandbox.set_invoice_writes("enabled")
    before = timezone.now()
    answer = api["admin_a"].post(f"{url}check/")
    assert answer.status_code == 202, answer.content
    assert answer.json()["invoices"]["held"] == 2
    job = ConnectionJob.objects.get(connection=hubspot, name="daily")
    assert job.dispatched_at is None and before <= job.next_attempt_at <= timezone.now()  # due at once
    assert api_messages() == [f"POST {url}check/ by alice with API token “admin_a script”"]
    run()
    state = api["viewer_a"].get(url).json()
    assert state["available"] is True and state["held"] == 0
    assert state["last_check"]["ok"] is True and len(sandbox.records("invoices")) == 2
