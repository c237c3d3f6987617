"""The Monday sandbox's GraphQL endpoint: transport, auth, API-Version, SDL validation, items and column values."""

from __future__ import annotations

import json

import pytest

from integrations.monday import sandbox

API = "/sandbox/monday/v2"
INVOICE_VALUES = {
    "text_mkq1cl1e": "Acme Ltd",
    "text_mkq1inv0": "INV-0042",
    "numeric_mkq2amt4": "1250.50",
    "date4": {"date": "2026-11-30"},
    "date_mkq3iss9": {"date": "2026-11-01", "time": "09:30:00"},
    "status": {"label": "Sent"},
    "link_mkq4fb2x": {"url": "https://my.freshbooks.test/invoices/42", "text": "Open in FreshBooks"},
    "email_mkq5cl7a": {"email": "billing@acme.test", "text": "Acme billing"},
    "long_text_mkq6nts3": {"text": "Net 30.\nThanks!"},
}
CREATE = """
mutation ($board: ID!, $name: String!, $group: String, $cv: JSON, $labels: Boolean) {
  create_item(board_id: $board, item_name: $name, group_id: $group, column_values: $cv,
              create_labels_if_missing: $labels) { id name group { id title } }
}"""
PAGE = """
query ($ids: [ID!], $limit: Int!) {
  boards(ids: $ids) { items_page(limit: $limit) { cursor items { id name column_values { id type text value } } } }
}"""


@pytest.fixture
def token(db):
    sandbox.reset()
    return sandbox.issue_personal_token()


def call(client, token, query, variables=None, **headers):
    body = {"query": query, "variables": variables or {}}
    extra = {"HTTP_AUTHORIZATION": token} if token is not None else {}
    extra.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    return client.post(API, json.dumps(body), content_type="application/json", **extra)


def create(client, token, name="Invoice INV-0042", values=None, **variables):
    board = sandbox.board("Invoices")["id"]
    cv = json.dumps(INVOICE_VALUES if values is None else values)
    return call(client, token, CREATE, {"board": board, "name": name, "cv": cv, **variables})


def codes(response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


# --- transport, auth, versions, validation -------------------------------------------------------


def test_valid_document_executes_with_account_id(client, token):
    r = call(client, token, "{ me { id name email account { id name } } }")
    assert r.status_code == 200
    body = r.json()
    assert "errors" not in body
    assert body["data"]["me"]["account"] == {"id": "27182818", "name": "ML Connector Demo"}
    assert body["account_id"] == 27182818


def test_unknown_field_is_a_validation_error_with_http_200(client, token):
    r = call(client, token, "{ boards { id nmae } }")
    assert r.status_code == 200
    body = r.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert "Cannot query field 'nmae' on type 'Board'" in error["message"]
    assert error["locations"] == [{"line": 1, "column": 15}]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["request_id"]


def test_parse_error(client, token):
    r = call(client, token, "{ boards { id ")
    assert r.status_code == 200
    [error] = r.json()["errors"]
    assert error["message"].startswith("Parse error on ")
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_python_validate_reports_schema_errors():
    ok = "query ($ids: [ID!]) { boards(ids: $ids) { id columns { id title type settings_str } } }"
    assert sandbox.validate(ok) == []
    assert sandbox.validate("{ items_page(limit: 5) { cursor } }")  # items_page only exists inside boards
    assert sandbox.validate("{ me { ") != []


@pytest.mark.parametrize(
    "body", [b"not json", json.dumps({"variables": {}}).encode(), json.dumps({"query": ""}).encode()]
)
def test_non_json_or_missing_query_is_http_400(client, token, body):
    r = client.post(API, body, content_type="application/json", HTTP_AUTHORIZATION=token)
    assert r.status_code == 400
    assert r.json()["errors"][0]["extensions"]["status_code"] == 400


def test_raw_token_and_tolerated_bearer_prefix(client, token):
    assert call(client, token, "{ me { id } }").json()["data"]["me"]["id"] == "61803398"
    assert call(client, f"Bearer {token}", "{ me { id } }").json()["data"]["me"]["id"] == "61803398"


@pytest.mark.parametrize("auth", [None, "not-a-token"])
def test_missing_or_unknown_token_is_401(client, token, auth):
    r = call(client, auth, "{ me { id } }")
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "Unauthorized"
    assert sandbox.stats()["unauthorized"] == 1


def test_api_version_default_valid_and_invalid(client, token):
    assert "errors" not in call(client, token, "{ me { id } }").json()
    assert "errors" not in call(client, token, "{ me { id } }", **{"API-Version": "2025-10"}).json()
    assert "errors" not in call(client, token, "{ me { id } }", **{"API-Version": "dev"}).json()
    for bad in ("2025-02", "latest", "2025-10-01"):
        r = call(client, token, "{ me { id } }", **{"API-Version": bad})
        assert r.status_code == 200
        assert codes(r) == ["InvalidVersionException"]
        assert r.json()["data"] is None


# --- items and column values ---------------------------------------------------------------------


def test_create_item_with_every_column_type_and_read_back(client, token):
    r = create(client, token)
    assert "errors" not in r.json(), r.json()
    item = r.json()["data"]["create_item"]
    assert item["name"] == "Invoice INV-0042"
    assert item["group"] == {"id": "topics", "title": "This month"}
    board = sandbox.board("Invoices")["id"]
    page = call(client, token, PAGE, {"ids": [board], "limit": 10}).json()["data"]["boards"][0]["items_page"]
    assert page["cursor"] is None
    [read] = page["items"]
    assert read["id"] == item["id"]
    cells = {c["id"]: c for c in read["column_values"]}
    assert cells["text_mkq1cl1e"]["text"] == "Acme Ltd"
    assert json.loads(cells["text_mkq1cl1e"]["value"]) == "Acme Ltd"
    amount = {"id": "numeric_mkq2amt4", "type": "numbers", "text": "1250.50", "value": '"1250.50"'}
    assert cells["numeric_mkq2amt4"] == amount
    assert json.loads(cells["date4"]["value"])["date"] == "2026-11-30"
    assert cells["date4"]["text"] == "2026-11-30"
    assert cells["date_mkq3iss9"]["text"] == "2026-11-01 09:30"
    assert cells["status"]["text"] == "Sent"
    assert json.loads(cells["status"]["value"])["index"] == 1
    assert cells["link_mkq4fb2x"]["text"] == "Open in FreshBooks - https://my.freshbooks.test/invoices/42"
    assert json.loads(cells["link_mkq4fb2x"]["value"])["url"] == "https://my.freshbooks.test/invoices/42"
    assert cells["email_mkq5cl7a"]["text"] == "billing@acme.test"
    assert json.loads(cells["email_mkq5cl7a"]["value"])["text"] == "Acme billing"
    assert cells["long_text_mkq6nts3"]["text"] == "Net 30.\nThanks!"
    for cell in read["column_values"]:
        assert cell["value"] is None or isinstance(cell["value"], str)
    assert "name" not in cells  # the name column is the item's name, not a column value
    [python] = sandbox.items("Invoices")
    assert python["by_title"]["Status"]["text"] == "Sent"
    assert python["values"]["numeric_mkq2amt4"]["value"] == '"1250.50"'


def test_empty_cells_read_as_empty_text_and_null_value(client, token):
    create(client, token, values={"text_mkq1inv0": "INV-1"})
    [item] = sandbox.items("Invoices")
    assert item["values"]["date4"] == {"id": "date4", "title": "Due date", "type": "date", "text": "", "value": None}


def test_typed_fragments_resolve(client, token):
    item_id = create(client, token).json()["data"]["create_item"]["id"]
    q = """query ($ids: [ID!]) { items(ids: $ids) { column_values(ids: ["status", "numeric_mkq2amt4"]) {
        id ... on StatusValue { label index } ... on NumbersValue { number } } } }"""
    values = call(client, token, q, {"ids": [item_id]}).json()["data"]["items"][0]["column_values"]
    assert {"id": "numeric_mkq2amt4", "number": 1250.5} in values
    assert {"id": "status", "label": "Sent", "index": 1} in values


def test_change_multiple_column_values(client, token):
    item_id = create(client, token).json()["data"]["create_item"]["id"]
    board = sandbox.board("Invoices")["id"]
    q = """mutation ($b: ID!, $i: ID, $cv: JSON!) { change_multiple_column_values(board_id: $b, item_id: $i,
           column_values: $cv) { id name column_values(ids: ["status", "date4"]) { id text } } }"""
    cv = json.dumps({"status": {"label": "Paid"}, "date4": None, "name": "Invoice INV-0042 (paid)"})
    r = call(client, token, q, {"b": board, "i": item_id, "cv": cv}).json()
    assert "errors" not in r, r
    changed = r["data"]["change_multiple_column_values"]
    assert changed["name"] == "Invoice INV-0042 (paid)"
    assert {"id": "status", "text": "Paid"} in changed["column_values"]
    assert {"id": "date4", "text": ""} in changed["column_values"]
    assert sandbox.items("Invoices")[0]["values"]["date4"]["value"] is None


def test_change_simple_column_value(client, token):
    item_id = create(client, token).json()["data"]["create_item"]["id"]
    board = sandbox.board("Invoices")["id"]
    q = """mutation ($b: ID!, $i: ID) { change_simple_column_value(board_id: $b, item_id: $i, column_id: "status",
           value: "Overdue") { id } }"""
    assert "errors" not in call(client, token, q, {"b": board, "i": item_id}).json()
    assert sandbox.items("Invoices")[0]["by_title"]["Status"]["text"] == "Overdue"


def test_unknown_status_label_is_column_value_exception_unless_created(client, token):
    r = create(client, token, values={"status": {"label": "Disputed"}})
    assert r.status_code == 200
    body = r.json()
    assert body["data"] == {"create_item": None}
    [error] = body["errors"]
    assert error["path"] == ["create_item"]
    assert error["extensions"]["code"] == "ColumnValueException"
    assert "label does not exist in column" in error["message"]
    assert error["extensions"]["error_data"]["column_id"] == "status"
    assert error["extensions"]["error_data"]["column_type"] in ("color", "status")
    assert sandbox.items("Invoices") == []
    r = create(client, token, values={"status": {"label": "Disputed"}}, labels=True)
    assert "errors" not in r.json()
    assert sandbox.items("Invoices")[0]["by_title"]["Status"]["text"] == "Disputed"
    assert "Disputed" in sandbox.board("Invoices")["columns"][6]["settings"]["labels"].values()


@pytest.mark.parametrize(
    "column_id, value",
    [
        ("date4", {"date": "2026-02-30"}),
        ("date4", "2026-11-30"),
        ("date4", {"date": "30/11/2026"}),
        ("numeric_mkq2amt4", "twelve"),
        ("email_mkq5cl7a", {"email": "not an address"}),
        ("link_mkq4fb2x", {"url": "no scheme"}),
    ],
)
def test_bad_formats_are_column_value_exceptions(client, token, column_id, value):
    r = create(client, token, values={column_id: value})
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "ColumnValueException"
    assert error["extensions"]["error_data"]["column_id"] == column_id
    assert error["extensions"]["status_code"] == 200


def test_unknown_column_id_and_titles_as_keys_are_rejected(client, token):
    for key in ("text_nope", "Client"):
        [error] = create(client, token, values={key: "x"}).json()["errors"]
        assert error["extensions"]["code"] == "InvalidColumnIdException"
        assert error["extensions"]["error_data"]["column_id"] == key


def test_column_values_as_an_object_is_rejected(client, token):
    board = sandbox.board("Invoices")["id"]
    r = call(client, token, CREATE, {"board": board, "name": "X", "cv": {"text_mkq1cl1e": "Acme"}})
    [error] = r.json()["errors"]
    assert error["extensions"]["code"] == "InvalidArgumentException"
    assert "JSON string" in error["message"]
    assert sandbox.items("Invoices") == []


def test_unknown_board_and_long_names(client, token):
    r = call(client, token, CREATE, {"board": "1", "name": "X"})
    assert codes(r) == ["InvalidBoardIdException"]
    assert codes(create(client, token, name="x" * 256)) == ["ItemNameTooLongException"]
    assert "errors" not in create(client, token, name="x" * 255).json()


def test_partial_data_with_errors(client, token):
    create(client, token)
    board = sandbox.board("Invoices")["id"]
    q = """mutation ($b: ID!) { ok: create_item(board_id: $b, item_name: "Fine") { id }
           bad: create_item(board_id: $b, item_name: "Bad", column_values: "{\\"nope\\": 1}") { id } }"""
    body = call(client, token, q, {"b": board}).json()
    assert body["data"]["ok"]["id"]
    assert body["data"]["bad"] is None
    assert [e["path"] for e in body["errors"]] == [["bad"]]


def test_items_page_by_column_values_finds_by_invoice_number(client, token):
    create(client, token, name="first", values={"text_mkq1inv0": "INV-1"})
    create(client, token, name="second", values={"text_mkq1inv0": "INV-2"})
    create(client, token, name="third", values={"text_mkq1inv0": "INV-3"})
    board = sandbox.board("Invoices")["id"]
    q = """query ($b: ID!, $v: [String]!) { items_page_by_column_values(board_id: $b, limit: 50,
           columns: [{column_id: "text_mkq1inv0", column_values: $v}]) { cursor items { id name } } }"""
    page = call(client, token, q, {"b": board, "v": ["INV-2"]}).json()["data"]["items_page_by_column_values"]
    assert page == {"cursor": None, "items": [{"id": page["items"][0]["id"], "name": "second"}]}
    page = call(client, token, q, {"b": board, "v": ["INV-1", "INV-3"]}).json()["data"]["items_page_by_column_values"]
    assert [i["name"] for i in page["items"]] == ["first", "third"]
    assert call(client, token, q, {"b": board, "v": ["INV-9"]}).json()["data"]["items_page_by_column_values"] == {
        "cursor": None,
        "items": [],
    }


def test_served_at_the_configured_api_url_through_requests(token, settings):
    """What ml-connector's client does: requests to settings.MONDAY_API_URL, raw token, pinned version."""
    import requests

    from integrations.sandbox.inprocess import mount_inprocess

    session = requests.Session()
    mount_inprocess(session)
    headers = {"Authorization": token, "API-Version": settings.MONDAY_API_VERSION}
    board = sandbox.board("Payments")
    cv = json.dumps({board["column_ids"]["Amount"]: 99.5, board["column_ids"]["Method"]: "Card"})
    q = 'mutation ($b: ID!, $cv: JSON) { create_item(board_id: $b, item_name: "P-1", column_values: $cv) { id } }'
    r = session.post(
        settings.MONDAY_API_URL, json={"query": q, "variables": {"b": board["id"], "cv": cv}}, headers=headers
    )
    assert r.status_code == 200
    assert "errors" not in r.json()
    [item] = sandbox.items("Payments")
    assert item["by_title"]["Amount"]["text"] == "99.5"
    assert item["by_title"]["Method"]["value"] == '"Card"'


def test_change_column_value_takes_a_json_value(client, token):
    item_id = create(client, token).json()["data"]["create_item"]["id"]
    q = """mutation ($b: ID!, $i: ID, $v: JSON!) { change_column_value(board_id: $b, item_id: $i, column_id: "date4",
           value: $v) { id } }"""
    board = sandbox.board("Invoices")["id"]
    assert "errors" not in call(client, token, q, {"b": board, "i": item_id, "v": '{"date": "2027-01-15"}'}).json()
    assert sandbox.items("Invoices")[0]["values"]["date4"]["text"] == "2027-01-15"
