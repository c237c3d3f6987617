"""The fake Salesforce on the wire, as the vendors doc (§3, Traps 22-28) describes Salesforce."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from integrations.salesforce import sandbox as sf
from integrations.salesforce.client import dumps, parse_limit_info

pytestmark = pytest.mark.django_db
ROOT = f"/sandbox/salesforce/{sf.DEMO_HOST}"
V = f"{ROOT}/services/data/v66.0"


@pytest.fixture
def token():
    sf.reset()
    response = Client().post(
        f"{ROOT}/services/oauth2/token",
        {"grant_type": "client_credentials", "client_id": sf.CONSUMER_KEY, "client_secret": sf.CONSUMER_SECRET},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == f"https://{sf.DEMO_HOST}" and "refresh_token" not in body
    assert isinstance(body["issued_at"], str) and len(body["issued_at"]) == 13 and "expires_in" not in body
    assert body["id"].startswith(f"https://{sf.DEMO_HOST}/id/00D")
    return body["access_token"]


def call(method, path, token, body=None, **headers):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}", **headers}
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(Client(), method)(path, **kwargs)


def test_the_login_hosts_refuse_client_credentials():
    sf.reset()
    for host in ("login.salesforce.com", "test.salesforce.com"):
        response = Client().post(
            f"/sandbox/salesforce/{host}/services/oauth2/token", {"grant_type": "client_credentials"}
        )
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": "request not supported on this domain",
        }


def test_versions_need_no_session_and_count_no_call(token):
    response = Client().get(f"{ROOT}/services/data/")
    assert response.status_code == 200 and response.json()[-1]["version"] == "66.0"
    assert "Sforce-Limit-Info" not in response and sf.api_usage()[0] == 0


def test_every_rest_answer_carries_the_usage_header(token):
    response = call("get", f"{V}/limits", token)
    assert response["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert parse_limit_info("api-usage=18/5000; api-bursts=1/750") == (18, 5000)
    assert parse_limit_info("per-app-api-usage=17/250(appName=x); api-usage=25/5000") == (25, 5000)


def test_an_unknown_session_is_401_invalid_session_id_as_a_list(token):
    response = call("get", f"{V}/limits", "00Dnot-a-session")
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID", "fields": []}
    ]


def test_upsert_answers_201_then_200_and_204_before_v46(token):
    path = f"{V}/sobjects/Account/FreshBooks_Client_Id__c/C%201"
    created = call("patch", path, token, {"Name": "Initech"})
    assert created.status_code == 201 and created.json()["created"] is True
    updated = call("patch", path, token, {"Name": "Initech Ltd"})
    assert updated.status_code == 200 and updated.json()["created"] is False
    old = call(
        "patch", f"{ROOT}/services/data/v45.0/sobjects/Account/FreshBooks_Client_Id__c/C%201", token, {"Phone": "1"}
    )
    assert old.status_code == 204 and old.content == b""
    assert [a["FreshBooks_Client_Id__c"] for a in sf.accounts()] == ["C 1"]


def test_upsert_refuses_the_external_id_in_the_body_and_an_unknown_field(token):
    body = {"Name": "x", "FreshBooks_Client_Id__c": "C-2"}
    response = call("patch", f"{V}/sobjects/Account/FreshBooks_Client_Id__c/C-2", token, body)
    assert response.status_code == 400 and response.json()[0]["fields"] == ["FreshBooks_Client_Id__c"]
    response = call("patch", f"{V}/sobjects/Account/Nope__c/1", token, {"Name": "x"})
    assert response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"


def test_opportunities_need_name_stage_and_close_date_and_a_real_stage(token):
    response = call("post", f"{V}/sobjects/Opportunity", token, {"Name": "x"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert response.json()[0]["fields"] == ["CloseDate", "StageName"]
    body = {"Name": "x", "StageName": "Closed Lol", "CloseDate": "2026-12-01"}
    assert call("post", f"{V}/sobjects/Opportunity", token, body).json()[0]["errorCode"] == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    )
    body = {"Name": "x", "StageName": "Closed Won", "CloseDate": "2026-12-01", "IsWon": False}
    assert call("post", f"{V}/sobjects/Opportunity", token, body).json()[0]["errorCode"] == (
        "INVALID_FIELD_FOR_INSERT_UPDATE"
    )


def test_describe_names_external_ids_and_stages(token):
    fields = {f["name"]: f for f in call("get", f"{V}/sobjects/Account/describe", token).json()["fields"]}
    assert fields["FreshBooks_Client_Id__c"]["externalId"] and fields["FreshBooks_Client_Id__c"]["unique"]
    sf.remove_field("Account", "FreshBooks_Client_Id__c")
    fields = {f["name"] for f in call("get", f"{V}/sobjects/Account/describe", token).json()["fields"]}
    assert "FreshBooks_Client_Id__c" not in fields


def test_soql_pages_with_host_relative_next_records_urls(token):
    sf.set_flag("query_batch", 2)
    for n in range(5):
        call("post", f"{V}/sobjects/Account", token, {"Name": f"A{n}"})
    page = call("get", f"{V}/query", token, QUERY_STRING="q=SELECT+Id,+Name+FROM+Account").json()
    names = [r["Name"] for r in page["records"]]
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith("/services/data/v66.0/query/01g")
        page = call("get", ROOT + page["nextRecordsUrl"], token).json()
        names += [r["Name"] for r in page["records"]]
    assert names == ["A0", "A1", "A2", "A3", "A4"]
    bad = call("get", f"{V}/query", token, QUERY_STRING="q=SELEC+Id+FROM+Account")
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    bad = call("get", f"{V}/query", token, QUERY_STRING="q=SELECT+Nope+FROM+Account")
    assert bad.json()[0]["errorCode"] == "INVALID_FIELD"


def test_collection_upsert_answers_per_record_inside_200(token):
    records = [
        {"attributes": {"type": "Account"}, "FreshBooks_Client_Id__c": "K1", "Name": "One"},
        {"attributes": {"type": "Account"}, "FreshBooks_Client_Id__c": "K2"},  # no Name
    ]
    response = call("patch", f"{V}/composite/sobjects/Account/FreshBooks_Client_Id__c", token, {"records": records})
    assert response.status_code == 200
    first, second = response.json()
    assert first["success"] and first["created"]
    assert not second["success"] and second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    too_many = [{"attributes": {"type": "Account"}, "FreshBooks_Client_Id__c": str(n), "Name": "n"} for n in range(201)]
    response = call("patch", f"{V}/composite/sobjects/Account/FreshBooks_Client_Id__c", token, {"records": too_many})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_an_exhausted_allowance_is_403_request_limit_exceeded(token):
    sf.set_api_usage(100000)
    response = call("get", f"{V}/limits", token)
    assert response.status_code == 403 and response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_an_org_without_api_access_is_403(token):
    sf.set_flag("api_enabled", False)
    assert call("get", f"{V}/limits", token).json()[0]["errorCode"] == "API_DISABLED_FOR_ORG"


def test_amounts_are_sent_as_exact_json_numbers():
    assert dumps({"Amount": Decimal("6000.10"), "n": [Decimal("0.1")]}) == '{"Amount": 6000.10, "n": [0.1]}'


def test_the_console_shows_the_org_and_its_switches_work(token):
    call("patch", f"{V}/sobjects/Account/FreshBooks_Client_Id__c/7", token, {"Name": "Northwind Traders"})
    page = Client().get("/sandbox/salesforce/").content.decode()
    assert "Northwind Traders" in page and sf.CONSUMER_KEY in page
    Client().post(f"/sandbox/salesforce/console/{sf.DEMO_HOST}/rename-won/", {"label": "Won - Paid"})
    Client().post(
        f"/sandbox/salesforce/console/{sf.DEMO_HOST}/field/",
        {"sobject": "Account", "name": "FreshBooks_Client_Id__c", "present": "0"},
    )
    org = sf.org()
    assert any(s["ApiName"] == "Won - Paid" and s["IsWon"] for s in org.data["stages"])
    assert "FreshBooks_Client_Id__c" not in org.data["fields"]["Account"]
    account = sf.accounts()[0]
    record = Client().get(f"/sandbox/salesforce/{sf.DEMO_HOST}/lightning/r/Account/{account['Id']}/view")
    assert record.status_code == 200 and "Northwind Traders" in record.content.decode()


def test_order_management_puts_invoice_in_describe_and_keeps_it_read_only(token):
    names = {o["name"] for o in call("get", f"{V}/sobjects", token).json()["sobjects"]}
    assert "Invoice" not in names and "Opportunity" in names
    absent = call("get", f"{V}/query", token, QUERY_STRING="q=SELECT+Id+FROM+Invoice")
    assert absent.status_code == 400 and absent.json()[0]["errorCode"] == "INVALID_TYPE"
    assert call("get", f"{V}/sobjects/Invoice/describe", token).status_code == 404

    sf.set_order_management(True)
    assert "Invoice" in {o["name"] for o in call("get", f"{V}/sobjects", token).json()["sobjects"]}
    opp_fields = {f["name"]: f for f in call("get", f"{V}/sobjects/Opportunity/describe", token).json()["fields"]}
    assert opp_fields["FreshBooks_Salesforce_Invoice__c"]["type"] == "reference"
    assert opp_fields["FreshBooks_Salesforce_Invoice__c"]["referenceTo"] == ["Invoice"]
    created = call("post", f"{V}/sobjects/Invoice", token, {"Description": "x"})
    assert (
        created.status_code == 400 and created.json()[0]["errorCode"] == "INVALID_TYPE"
    )  # Order Management makes them

    invoice = sf.add_invoice("it's-42", amount="10.00")
    q = "q=SELECT+Id,+FreshBooks_Invoice_Id__c+FROM+Invoice+WHERE+FreshBooks_Invoice_Id__c+IN+('it\\'s-42')"
    found = call("get", f"{V}/query", token, QUERY_STRING=q).json()
    assert [r["Id"] for r in found["records"]] == [invoice]

    body = {"Name": "O", "StageName": "Prospecting", "CloseDate": "2026-01-31"}
    bad = call(
        "post", f"{V}/sobjects/Opportunity", token, {**body, "FreshBooks_Salesforce_Invoice__c": "3ttXX0000000001AAA"}
    )
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    good = call("post", f"{V}/sobjects/Opportunity", token, {**body, "FreshBooks_Salesforce_Invoice__c": invoice})
    assert good.status_code == 201
    assert call("delete", f"{V}/sobjects/Invoice/{invoice}", token).status_code == 204
    assert sf.opportunities()[0]["FreshBooks_Salesforce_Invoice__c"] is None  # the lookup is cleared


def test_the_console_switches_order_management_and_makes_invoices(token):
    console = f"/sandbox/salesforce/console/{sf.DEMO_HOST}"
    assert Client().post(f"{console}/order-management/", {"value": "1"}).status_code == 302
    assert Client().post(f"{console}/invoice/", {"freshbooks_invoice_id": "77", "amount": "12.50"}).status_code == 302
    only_invoice = sf.invoices()
    assert len(only_invoice) == 1 and only_invoice[0]["FreshBooks_Invoice_Id__c"] == "77"
    assert only_invoice[0]["Status"] == "Posted" and only_invoice[0]["DocumentNumber"] == "INV-00000001"
    page = Client().get("/sandbox/salesforce/").content.decode()
    assert "Invoices (1)" in page and "Opportunity.FreshBooks_Salesforce_Invoice__c" in page
    assert Client().post(f"{console}/order-management/", {"value": "0"}).status_code == 302
    assert "Invoices (" not in Client().get("/sandbox/salesforce/").content.decode()
