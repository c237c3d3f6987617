"""The sandbox HubSpot against HubSpot's own OpenAPI files and wire facts (vendors doc §2)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from integrations.hubspot import sandbox
from integrations.hubspot.sandbox import spec
from integrations.sandbox.inprocess import session

pytestmark = pytest.mark.django_db
API = "http://testserver/sandbox/hubspot/api"


@pytest.fixture
def call(db):
    sandbox.reset()
    token = sandbox.issue_token()
    s = session()

    def _call(method, path, json=None, token_=token, **kw):
        return s.request(method, API + path, json=json, headers={"Authorization": f"Bearer {token_}"}, **kw)

    return _call


def conforms(method: str, path: str, response) -> None:
    op, _, _ = spec.find(method, path)
    assert op is not None, path
    assert spec.response_problems(op, response.status_code, response.json()) == []


def test_answers_match_what_hubspots_files_document(call):
    made = call("POST", "/crm/v3/objects/contacts", {"properties": {"email": "a@example.com"}, "associations": []})
    assert made.status_code == 201
    conforms("POST", "/crm/v3/objects/contacts", made)
    upsert = {"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "A"}}]}
    response = call("POST", "/crm/v3/objects/contacts/batch/upsert", upsert)
    assert response.status_code == 200 and response.json()["results"][0]["new"] is False
    conforms("POST", "/crm/v3/objects/contacts/batch/upsert", response)
    listed = call("GET", "/crm/v3/objects/contacts?limit=5")
    conforms("GET", "/crm/v3/objects/contacts", listed)


def test_a_body_of_the_wrong_shape_is_refused_with_the_specs_words(call):
    response = call("POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": [{"properties": {"firstname": "A"}}]})
    assert response.status_code == 400
    assert (
        response.json()["category"] == "VALIDATION_ERROR"
        and "'id' is a required property" in response.json()["message"]
    )
    assert call("POST", "/crm/v3/objects/widgets/batch/nothing", {}).status_code == 404


def test_batches_stop_at_100_inputs(call):
    inputs = [{"id": f"p{n}@example.com", "idProperty": "email", "properties": {}} for n in range(101)]
    response = call("POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs})
    assert response.status_code == 400 and "at most 100" in response.json()["message"]


def test_without_trace_ids_one_bad_input_fails_the_whole_batch_and_writes_nothing(call):
    inputs = [{"properties": {"email": "ok@example.com"}}, {"properties": {"email": "bad@@x"}}]
    response = call("POST", "/crm/v3/objects/contacts/batch/create", {"inputs": inputs})
    assert response.status_code == 400 and sandbox.records("contacts") == []
    traced = [{**item, "objectWriteTraceId": f"t{n}"} for n, item in enumerate(inputs)]
    response = call("POST", "/crm/v3/objects/contacts/batch/create", {"inputs": traced})
    assert response.status_code == 207 and response.json()["numErrors"] == 1
    assert response.json()["errors"][0]["context"]["objectWriteTraceId"] == ["t1"]
    assert [c["properties"]["email"] for c in sandbox.records("contacts")] == ["ok@example.com"]


def test_rate_limit_headers_on_every_call_but_search_and_429_bodies_name_the_policy(call):
    with time_machine.travel(datetime(2026, 12, 2, 15, 0, 0, tzinfo=UTC), tick=False):  # one window, however slow
        _limits(call)


def _limits(call):
    sandbox.set_limits(burst=3)
    seen = [call("GET", "/crm/v3/objects/contacts") for _ in range(3)]
    assert (
        seen[0].headers["X-HubSpot-RateLimit-Max"] == "3" and seen[-1].headers["X-HubSpot-RateLimit-Remaining"] == "0"
    )
    assert seen[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert "X-HubSpot-RateLimit-Daily-Remaining" in seen[0].headers
    refused = call("GET", "/crm/v3/objects/contacts")
    assert refused.status_code == 429 and refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.json()["errorType"] == "RATE_LIMIT" and refused.headers["Retry-After"]
    search = call("POST", "/crm/v3/objects/contacts/search", {"filterGroups": []})
    assert search.status_code == 200 and not any(h.lower().startswith("x-hubspot-ratelimit") for h in search.headers)
    for _ in range(4):
        call("POST", "/crm/v3/objects/contacts/search", {"filterGroups": []})
    assert call("POST", "/crm/v3/objects/contacts/search", {"filterGroups": []}).status_code == 429


def test_search_refuses_past_10000_results_and_over_200_a_page(call):
    assert call("POST", "/crm/v3/objects/contacts/search", {"after": "9950", "limit": 100}).status_code == 400
    assert call("POST", "/crm/v3/objects/contacts/search", {"limit": 201}).status_code == 400


def test_an_invoice_needs_a_contact_and_a_line_item_before_it_opens(call):
    invoice = call("POST", "/crm/v3/objects/invoices", {"properties": {"hs_currency": "USD"}}).json()
    assert invoice["properties"]["hs_invoice_status"] == "draft"
    opened = call("PATCH", f"/crm/v3/objects/invoices/{invoice['id']}", {"properties": {"hs_invoice_status": "open"}})
    assert opened.status_code == 400 and "associate a contact and at least one line item" in opened.json()["message"]
    assert call("POST", "/crm/v3/objects/invoices", {"properties": {}}).status_code == 400  # hs_currency is required


def test_the_legacy_payments_object_takes_no_writes(call):
    assert call("POST", "/crm/v3/objects/payments", {"properties": {}}).status_code == 405
    assert call("GET", "/crm/v3/objects/payments").status_code == 200


def test_the_console_shows_records_with_their_associations(call, client):
    contact = call("POST", "/crm/v3/objects/contacts", {"properties": {"email": "seen@example.com"}}).json()
    page = client.get("/sandbox/hubspot/").content.decode()
    assert "seen@example.com" in page and "Private app access token" in page
    assert client.get(f"/sandbox/hubspot/records/contacts/{contact['id']}/").status_code == 200
    client.post("/sandbox/hubspot/console/invoices/", {"mode": "not_enabled"})
    assert sandbox.control.settings_of()["invoices"] == "not_enabled"
