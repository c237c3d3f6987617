"""Personas on every route of the schema. A second tenant's token reaches none of the first tenant's objects:
every path naming one of A's rows answers B's admin 404 whatever the method, and no list B reads
shows anything of A's. A viewer's token is refused every change (403), whatever the route."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from integrations.slack.models import RoutingRule
from mlconnector.pipeline.models import Backfill
from mlconnector.tenants.models import Invitation
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml").read_text())
MARKERS = [
    "INV-A-1",
    "Books A",
    "Slack A",
    "A-only rule",
    "a-invitee@example.com",
    "Monday A",
    "GoCardless A",
    "HubSpot A",
    "Salesforce A",
    "alice",
    "victor",
]


@pytest.fixture
def a_rows(api_world, tenant_a, admin_a):
    from django.utils import timezone

    a = api_world["a"]
    monday = ConnectionFactory(tenant=tenant_a, provider="monday", name="Monday A", config={})
    gocardless = ConnectionFactory(tenant=tenant_a, provider="gocardless", name="GoCardless A", config={})
    hubspot = ConnectionFactory(tenant=tenant_a, provider="hubspot", name="HubSpot A", config={})
    salesforce = ConnectionFactory(tenant=tenant_a, provider="salesforce", name="Salesforce A", config={})
    rule = RoutingRule.objects.create(
        tenant=tenant_a, name="A-only rule", event_types=["invoice.create"], channel_id="C0X", channel_name="x"
    )
    invitation = Invitation.objects.create(
        tenant=tenant_a,
        email="a-invitee@example.com",
        nonce="n",
        expires_at=timezone.now() + timezone.timedelta(days=7),
    )
    backfill = Backfill.objects.create(
        tenant=tenant_a, source=a["books"], target=monday, record_types=["invoice"], next_attempt_at=timezone.now()
    )
    from integrations.gocardless.models import MandateRequest

    mandate = MandateRequest.objects.create(
        tenant=tenant_a, connection=gocardless, invoice_id="1", reason="no active mandate in USD", currency="USD"
    )
    return {
        "mandate_request": mandate.pk,
        "connections": a["books"].pk,
        "events": a["event"].pk,
        "deliveries": a["delivery"].pk,
        "backfills": backfill.pk,
        "invitations": invitation.pk,
        "slack": rule.pk,
        "monday": monday.pk,
        "gocardless": gocardless.pk,
        "hubspot": hubspot.pk,
        "salesforce": salesforce.pk,
    }


def _fill(path: str, rows: dict) -> str:
    resource = path.split("/")[3]
    return (
        path.replace("{id}", str(rows[resource]))
        .replace("{connection}", str(rows[resource]))
        .replace("{record_type}", "invoice")
        .replace("{request_id}", str(rows["mandate_request"]))
    )


def test_every_route_naming_an_object_of_tenant_a_is_a_404_for_tenant_bs_token(a_rows, api):
    checked = 0
    for path, item in SCHEMA["paths"].items():
        if "{" not in path:
            continue
        for method in item:
            response = getattr(api["admin_b"], method)(_fill(path, a_rows), {})
            assert response.status_code == 404, (method, path, response.status_code, response.content[:200])
            assert response.json()["error"]["code"] == "not_found"
            checked += 1
    assert checked >= 20


def test_no_list_tenant_b_reads_shows_anything_of_tenant_a(a_rows, api):
    for path, item in SCHEMA["paths"].items():
        if "{" in path or "get" not in item:
            continue
        response = api["admin_b"].get(path)
        assert response.status_code == 200, path
        assert not [m for m in MARKERS if m in response.content.decode()], path
        mine = api["admin_a"].get(path).json()
        assert mine.get("results") if isinstance(mine, dict) else mine, (
            f"{path}: A sees nothing, so this proves nothing"
        )


# What a viewer may send besides reads: a connection test and a rule preview change nothing.
VIEWER_MAY = {("post", "/api/v1/connections/{id}/test/"), ("post", "/api/v1/slack/rules/preview/")}


def test_a_viewers_token_is_refused_every_change_on_every_route(a_rows, api):
    from mlconnector.audit.models import AuditRecord

    checked = 0
    for path, item in SCHEMA["paths"].items():
        for method in item:
            if method == "get" or (method, path) in VIEWER_MAY:
                continue
            response = getattr(api["viewer_a"], method)(_fill(path, a_rows), {})
            assert response.status_code == 403, (method, path, response.status_code, response.content[:200])
            assert response.json()["error"]["code"] == "permission_denied"
            checked += 1
    assert checked >= 15
    assert not AuditRecord.objects.filter(kind="api").exists()
