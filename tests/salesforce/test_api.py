"""Salesforce through the REST API (/api/v1/salesforce/<connection>/): the settings page's validation and
saving, word for word, and what the connection page shows about the org; viewers read, admins change,
another tenant's token finds nothing."""

from __future__ import annotations

import pytest

from integrations.salesforce import sandbox as sf
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "account_external_field": "FreshBooks_Client_Id__c",
    "opportunity_external_field": "FreshBooks_Invoice_Id__c",
    "open_stage": "Negotiation/Review",
    "paid_field": "FreshBooks_Paid_Amount__c",
}


@pytest.fixture
def conn(world, personas):
    return world[1]


def settings_of(conn: Connection) -> dict:
    config = Connection.objects.get(pk=conn.pk).config
    return {k: config.get(k) for k in DEFAULTS}


def test_the_settings_read_as_the_page_shows_them_for_admins_and_viewers(conn, api):
    for persona in ("admin_a", "viewer_a"):
        for suffix in ("/", ".json"):
            answer = api[persona].get(f"/api/v1/salesforce/{conn.pk}/settings{suffix}")
            assert answer.status_code == 200, answer.content
            body = answer.json()
            assert {k: body[k] for k in DEFAULTS} == DEFAULTS
            assert body["won_stage"] == "Closed Won"
            assert "Negotiation/Review" in body["open_stages"] and "Closed Won" not in body["open_stages"]


def test_an_admin_changes_settings_they_round_trip_and_the_write_is_audited_with_the_token(conn, api):
    stage = next(s for s in conn.config["open_stages"] if s != "Negotiation/Review")
    url = f"/api/v1/salesforce/{conn.pk}/settings/"
    answer = api["admin_a"].patch(url, {"open_stage": stage, "paid_field": "Paid_So_Far__c"})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["open_stage"] == stage and body["paid_field"] == "Paid_So_Far__c"
    assert body["changed"] == ["open_stage", "paid_field"] and body["warning"] == ""
    assert settings_of(conn)["open_stage"] == stage
    assert api["viewer_a"].get(url).json()["paid_field"] == "Paid_So_Far__c"
    # The org was re-read for the new names, as the page does: Paid_So_Far__c does not exist there.
    org = api["viewer_a"].get(f"/api/v1/salesforce/{conn.pk}/org/").json()
    assert [o["field"] for o in org["optional_fields"]] == ["Paid_So_Far__c"]
    api_rows = AuditRecord.objects.filter(kind=AuditRecord.Kind.API)
    assert [r.message for r in api_rows] == [f"PATCH {url} by alice with API token “admin_a script”"]
    changed = [
        r
        for r in AuditRecord.objects.filter(kind=AuditRecord.Kind.CONNECTION, actor=api_rows[0].actor)
        if r.message.startswith("Salesforce settings changed")
    ]
    assert len(changed) == 1
    # PUT replaces all four; sending the same values again changes nothing.
    answer = api["admin_a"].put(url, DEFAULTS)
    assert answer.status_code == 200 and sorted(answer.json()["changed"]) == ["open_stage", "paid_field"]
    assert api["viewer_a"].get(url).json() | DEFAULTS == api["viewer_a"].get(url).json()
    assert api["admin_a"].put(url, DEFAULTS).json()["changed"] == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"account_external_field": "FreshBooks Client"}, "account_external_field", "is not a custom field's API name"),
        ({"opportunity_external_field": "Invoice_Id"}, "opportunity_external_field", "ends in __c"),
        ({"paid_field": "x" * 81 + "__c"}, "paid_field", "at most 80 characters"),
        ({"open_stage": "Closed Won"}, "open_stage", "Select a valid choice"),
        ({"paid_field": 12}, "paid_field", "A string"),
        ({"colour": "red"}, "colour", "Not a setting"),
    ],
)
def test_a_bad_setting_is_refused_naming_its_field_and_nothing_changes(conn, api, body, field, words):
    answer = api["admin_a"].patch(f"/api/v1/salesforce/{conn.pk}/settings/", body)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [field]
    assert words in " ".join(error["fields"][field])
    assert settings_of(conn) == {k: None for k in DEFAULTS}  # the defaults still apply: nothing was stored
    assert not AuditRecord.objects.filter(kind=AuditRecord.Kind.API).exists()


def test_a_put_must_name_every_setting(conn, api):
    answer = api["admin_a"].put(f"/api/v1/salesforce/{conn.pk}/settings/", {"open_stage": "Negotiation/Review"})
    assert answer.status_code == 400
    assert set(answer.json()["error"]["fields"]) == set(DEFAULTS) - {"open_stage"}


def test_viewers_cannot_change_settings_and_another_tenant_finds_nothing(conn, api):
    url = f"/api/v1/salesforce/{conn.pk}/settings/"
    refused = api["viewer_a"].patch(url, {"paid_field": "Paid_So_Far__c"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    for method in ("get", "patch", "put"):
        answer = getattr(api["admin_b"], method)(url, {"paid_field": "Paid_So_Far__c"})
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    assert api["admin_b"].get(f"/api/v1/salesforce/{conn.pk}/org/").status_code == 404
    assert settings_of(conn) == {k: None for k in DEFAULTS}


def test_the_org_reads_as_the_connection_page_shows_it_without_calling_salesforce(conn, api, monkeypatch, settings):
    settings.SALESFORCE_LOW_ALLOWANCE_PAUSE = 0  # running low spaces calls out; this test is not about that
    sf.set_api_usage(96_000)  # of 100,000: under the 5% that is "running low"
    sf.remove_field("Account", "FreshBooks_Client_Id__c")
    # Test connection (as the page's button) re-reads the org and records the usage it reports.
    tested = api["admin_a"].post(f"/api/v1/connections/{conn.pk}/test/")
    assert tested.status_code == 200 and tested.json()["ok"] is True, tested.content
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("reading the org must not call Salesforce")

    monkeypatch.setattr(requests.Session, "request", no_network)
    answer = api["viewer_a"].get(f"/api/v1/salesforce/{conn.pk}/org.json")
    assert answer.status_code == 200, answer.content
    org = answer.json()
    assert org["my_domain"] == f"https://{sf.DEMO_HOST}" and org["api_version"] == conn.config["api_version"]
    assert org["won_stage"] == "Closed Won" and org["is_sandbox"] is False
    used, most = sf.api_usage()
    assert org["api_usage"]["used"] == used and org["api_usage"]["max"] == most and org["api_usage"]["low"] is True
    assert [(m["sobject"], m["field"], m["problem"]) for m in org["missing_fields"]] == [
        ("Account", "FreshBooks_Client_Id__c", "missing")
    ]
    assert "Text (255), External ID, Unique" == org["missing_fields"][0]["type"]


def test_the_invoice_link_fields_are_settings_too_and_the_org_says_whether_invoices_are_linked(conn, api):
    url = f"/api/v1/salesforce/{conn.pk}/settings/"
    body = api["viewer_a"].get(url).json()
    assert body["invoice_match_field"] == "FreshBooks_Invoice_Id__c"
    assert body["invoice_lookup_field"] == "FreshBooks_Salesforce_Invoice__c"
    bad = api["admin_a"].patch(url, {"invoice_lookup_field": "Salesforce Invoice"})
    assert bad.status_code == 400 and list(bad.json()["error"]["fields"]) == ["invoice_lookup_field"]
    assert Connection.objects.get(pk=conn.pk).config.get("invoice_lookup_field") is None

    sf.set_order_management(True, with_fields=False)  # Invoice exists; the link's two fields do not yet
    answer = api["admin_a"].patch(url, {"invoice_lookup_field": "Linked_Invoice__c"})
    assert answer.status_code == 200 and answer.json()["changed"] == ["invoice_lookup_field"]
    org = api["viewer_a"].get(f"/api/v1/salesforce/{conn.pk}/org/").json()
    assert org["order_management"] is True and org["invoice_link"] is False
    assert {(m["sobject"], m["field"]) for m in org["invoice_link_missing"]} == {
        ("Invoice", "FreshBooks_Invoice_Id__c"),
        ("Opportunity", "Linked_Invoice__c"),
    }
    # A PUT that leaves the link's fields out puts their default names back.
    answer = api["admin_a"].put(url, DEFAULTS)
    assert answer.status_code == 200 and answer.json()["invoice_lookup_field"] == "FreshBooks_Salesforce_Invoice__c"
