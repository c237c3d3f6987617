"""Slack routing rules through the API (/api/v1/slack/): the rules page's own validation and words,
preview, partial changes, deletion; viewers read, another tenant's rule is a 404."""

from __future__ import annotations

import pytest

from integrations.slack.models import RoutingRule

pytestmark = pytest.mark.django_db

BIG_INVOICES = {
    "name": "Big invoices",
    "event_types": ["invoice.create"],
    "comparison": "at_least",
    "threshold": "5000",
    "channel": "C0EXECALERTS",
}


def test_an_admin_creates_previews_changes_and_deletes_a_rule(api_world, api):
    client = api["admin_a"]
    made = client.post("/api/v1/slack/rules/", BIG_INVOICES)
    assert made.status_code == 201
    rule = made.json()
    assert rule["channel_name"] == "exec-alerts" and rule["threshold"] == "5000.00"
    assert rule["description"] == "Invoice created; amount at least 5,000.00 → #exec-alerts"
    preview = client.get(f"/api/v1/slack/rules/{rule['id']}/preview/").json()
    assert preview["would_post"] == 1 and preview["events"][0]["event"] == api_world["a"]["event"].pk
    assert "6,000.00" in preview["events"][0]["message"]
    changed = client.patch(
        f"/api/v1/slack/rules/{rule['id']}/", {"threshold": 7000, "exclude_categories": ["Internal"]}
    )
    assert changed.status_code == 200 and changed.json()["threshold"] == "7000.00"
    assert changed.json()["exclude_categories"] == ["Internal"] and changed.json()["name"] == "Big invoices"
    assert client.get(f"/api/v1/slack/rules/{rule['id']}/preview/").json()["would_post"] == 0
    assert client.delete(f"/api/v1/slack/rules/{rule['id']}/").status_code == 204
    assert not RoutingRule.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"event_types": []}, "event_types", "Choose at least one event type."),
        ({"channel": "C0NOPE"}, "channel", "That channel is not in your Slack workspace's list."),
        ({"threshold": None}, "threshold", "Enter the amount to compare with."),
        ({"threshold": "-5"}, "threshold", "The threshold cannot be negative."),
        ({"currency": "dollars"}, "currency", "Use a three-letter currency code such as USD"),
        ({"comparison": ""}, "comparison", "Choose at least, above or below for this amount."),
        ({"colour": "red"}, "colour", "Not a field of a routing rule."),
    ],
)
def test_a_rule_is_refused_with_the_forms_own_words(api_world, api, changes, field, message):
    response = api["admin_a"].post("/api/v1/slack/rules/", {**BIG_INVOICES, **changes})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and message in " ".join(error["fields"][field])
    assert not RoutingRule.objects.exists()


def test_a_rule_can_be_previewed_before_it_is_saved(api_world, api):
    response = api["viewer_a"].post("/api/v1/slack/rules/preview/", BIG_INVOICES)
    assert response.status_code == 200 and response.json()["would_post"] == 1
    assert not RoutingRule.objects.exists()


def test_viewers_read_rules_and_other_tenants_never_see_them(api_world, api):
    rule = api["admin_a"].post("/api/v1/slack/rules/", BIG_INVOICES).json()
    assert [r["id"] for r in api["viewer_a"].get("/api/v1/slack/rules/").json()] == [rule["id"]]
    assert api["viewer_a"].post("/api/v1/slack/rules/", BIG_INVOICES).status_code == 403
    assert api["viewer_a"].delete(f"/api/v1/slack/rules/{rule['id']}/").status_code == 403
    assert api["admin_b"].get("/api/v1/slack/rules/").json() == []
    for method in ("get", "patch", "delete"):
        assert getattr(api["admin_b"], method)(f"/api/v1/slack/rules/{rule['id']}/").status_code == 404
    assert api["admin_b"].get(f"/api/v1/slack/rules/{rule['id']}/preview/").status_code == 404
    assert RoutingRule.objects.count() == 1


def test_the_channel_list_is_the_workspaces(api_world, api):
    assert [c["name"] for c in api["viewer_a"].get("/api/v1/slack/channels/").json()] == ["accounting", "exec-alerts"]
