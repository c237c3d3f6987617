"""The Monday sandbox's pagination, complexity budget and injected throttling faults."""

from __future__ import annotations

import json

import pytest

from integrations.monday import sandbox
from integrations.monday.sandbox import clock as sandbox_clock
from integrations.monday.sandbox import complexity as complexity
from integrations.monday.sandbox.graphql import prepare, schema
from tests.monday.test_sandbox_api import PAGE, call, codes, create


@pytest.fixture
def token(db):
    sandbox.reset()
    return sandbox.issue_personal_token()


@pytest.fixture
def clock(monkeypatch):
    """The sandbox's clock, moved by hand: no sleeping through 60-second windows."""
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(sandbox_clock, "now", lambda: now["t"])
    return now


NEXT = "query ($c: String!, $l: Int!) { next_items_page(cursor: $c, limit: $l) { cursor items { id name } } }"


def _board() -> str:
    return sandbox.board("Invoices")["id"]


# --- pagination ----------------------------------------------------------------------------------


def test_pages_follow_the_cursor_to_null(client, token):
    for n in range(7):
        sandbox.add_item("Invoices", f"Item {n}", {"text_mkq1inv0": f"INV-{n}"})
    first = call(client, token, PAGE, {"ids": [_board()], "limit": 3}).json()["data"]["boards"][0]["items_page"]
    names = [i["name"] for i in first["items"]]
    cursor = first["cursor"]
    assert isinstance(cursor, str) and cursor
    pages = 1
    while cursor:
        page = call(client, token, NEXT, {"c": cursor, "l": 3}).json()["data"]["next_items_page"]
        names += [i["name"] for i in page["items"]]
        cursor = page["cursor"]
        pages += 1
    assert names == [f"Item {n}" for n in range(7)]
    assert pages == 3


def test_exact_multiple_ends_with_null_cursor(client, token):
    for n in range(4):
        sandbox.add_item("Invoices", f"Item {n}")
    first = call(client, token, PAGE, {"ids": [_board()], "limit": 2}).json()["data"]["boards"][0]["items_page"]
    second = call(client, token, NEXT, {"c": first["cursor"], "l": 2}).json()["data"]["next_items_page"]
    assert [i["name"] for i in second["items"]] == ["Item 2", "Item 3"]
    assert second["cursor"] is None


def test_limit_above_500_is_invalid_argument(client, token):
    r = call(client, token, PAGE, {"ids": [_board()], "limit": 501})
    assert r.status_code == 200
    assert codes(r) == ["InvalidArgumentException"]
    assert r.json()["errors"][0]["path"] == ["boards", 0, "items_page"]
    assert "errors" not in call(client, token, PAGE, {"ids": [_board()], "limit": 500}).json()


def test_expired_cursor_is_refused(client, token, clock, settings):
    settings.SANDBOX_MONDAY_CURSOR_TTL = 3600
    for n in range(3):
        sandbox.add_item("Invoices", f"Item {n}")
    cursor = call(client, token, PAGE, {"ids": [_board()], "limit": 1}).json()["data"]["boards"][0]["items_page"][
        "cursor"
    ]
    clock["t"] += 3599
    assert "errors" not in call(client, token, NEXT, {"c": cursor, "l": 1}).json()
    clock["t"] += 2
    r = call(client, token, NEXT, {"c": cursor, "l": 1})
    assert codes(r) == ["CursorException"]
    assert r.json()["errors"][0]["message"].startswith("CursorExpiredError")
    assert codes(call(client, token, NEXT, {"c": "forged", "l": 1})) == ["InvalidArgumentException"]


def test_items_page_query_params_filter(client, token):
    sandbox.add_item("Invoices", "paid", {"status": {"label": "Paid"}, "numeric_mkq2amt4": "100"})
    sandbox.add_item("Invoices", "sent", {"status": {"label": "Sent"}, "numeric_mkq2amt4": "900"})
    q = """query ($b: [ID!], $q: ItemsQuery) { boards(ids: $b) { items_page(limit: 10, query_params: $q) {
           items { name } } } }"""
    by_status = {"rules": [{"column_id": "status", "compare_value": [4]}]}
    big = {"rules": [{"column_id": "numeric_mkq2amt4", "compare_value": [500], "operator": "greater_than"}]}
    for params, expected in ((by_status, ["paid"]), (big, ["sent"])):
        page = call(client, token, q, {"b": [_board()], "q": params}).json()["data"]["boards"][0]["items_page"]
        assert [i["name"] for i in page["items"]] == expected


# --- complexity ----------------------------------------------------------------------------------


def test_cost_model_is_deterministic():
    doc = "{ boards(ids: [1]) { items_page(limit: 500) { cursor items { id name column_values { id text value } } } } }"
    p = prepare(doc)
    assert complexity.cost(schema(), p.operation, p.fragments, p.variables) == 17_502
    p = prepare('mutation { create_item(board_id: 1, item_name: "x") { id } complexity { query } }')
    assert complexity.cost(schema(), p.operation, p.fragments, p.variables) == 10_002


def test_complexity_field_reports_decreasing_budget(client, token, clock):
    q = "{ me { id } complexity { before after query reset_in_x_seconds } }"
    first = call(client, token, q).json()["data"]["complexity"]
    clock["t"] += 5
    second = call(client, token, q).json()["data"]["complexity"]
    assert first == {"before": 10_000_000, "after": 10_000_000 - 2, "query": 2, "reset_in_x_seconds": 60}
    assert second == {"before": first["after"], "after": first["after"] - 2, "query": 2, "reset_in_x_seconds": 55}
    r = create(client, token).json()
    assert "errors" not in r
    assert sandbox.stats()["complexity_points"] == 4 + 10_006


def test_budget_exhaustion_is_429_with_retry_after_then_recovers(client, token, clock):
    sandbox.set_complexity_budget(25_000)
    assert "errors" not in create(client, token, name="one").json()
    clock["t"] += 10
    assert "errors" not in create(client, token, name="two").json()
    clock["t"] += 10
    r = create(client, token, name="three")
    assert r.status_code == 429
    assert r["Retry-After"] == "40"
    body = r.json()
    assert body["account_id"] == 27182818
    [error] = body["errors"]
    assert error["message"] == "Complexity budget exhausted"
    ext = error["extensions"]
    assert ext["code"] == "COMPLEXITY_BUDGET_EXHAUSTED"
    assert ext["complexity"] == 10_006
    assert ext["complexity_budget_left"] == 25_000 - 2 * 10_006
    assert ext["complexity_budget_limit"] == 25_000
    assert ext["retry_in_seconds"] == 40
    assert ext["status_code"] == 429
    assert [i["name"] for i in sandbox.items("Invoices")] == ["one", "two"]
    assert sandbox.stats()["complexity_429s"] == 1
    clock["t"] += 40
    assert "errors" not in create(client, token, name="three").json()
    assert [i["name"] for i in sandbox.items("Invoices")] == ["one", "two", "three"]


def test_budget_is_per_token(client, token, clock):
    sandbox.set_complexity_budget(15_000)
    assert create(client, token).status_code == 200
    assert create(client, token).status_code == 429
    other = sandbox.issue_personal_token()
    assert create(client, other).status_code == 200


def test_exhaustion_can_arrive_inside_http_200(client, token, clock, settings):
    settings.SANDBOX_MONDAY_COMPLEXITY_HTTP_200 = True
    sandbox.set_complexity_budget(5)
    r = create(client, token)
    assert r.status_code == 200
    assert codes(r) == ["COMPLEXITY_BUDGET_EXHAUSTED"]


def test_query_over_the_per_query_cap_is_refused(client, token):
    q = """{ boards(limit: 500) { items_page(limit: 500) { items { column_values { id text value } } } } }"""
    r = call(client, token, q)
    assert r.status_code == 200
    assert codes(r) == ["maxComplexityExceeded"]
    assert sandbox.stats()["complexity_points"] == 0


# --- injected faults -----------------------------------------------------------------------------


def test_injected_locked_423_then_normal(client, token):
    sandbox.inject_locked()
    r = create(client, token)
    assert r.status_code == 423
    assert r.json()["errors"][0]["message"] == "Resource is currently locked"
    assert create(client, token).status_code == 200
    assert len(sandbox.items("Invoices")) == 1


def test_injected_daily_limit_retries_at_midnight_utc(client, token):
    sandbox.inject_daily_limit()
    r = call(client, token, "{ me { id } }")
    assert r.status_code == 429
    ext = r.json()["errors"][0]["extensions"]
    assert ext["code"] == "DAILY_LIMIT_EXCEEDED"
    assert 0 < ext["retry_in_seconds"] <= 86_400
    assert int(r["Retry-After"]) == ext["retry_in_seconds"]
    assert sandbox.stats()["http_429s"] == 1


@pytest.mark.parametrize(
    "inject, status, code",
    [
        (sandbox.inject_concurrency_limit, 429, "maxConcurrencyExceeded"),
        (sandbox.inject_rate_limit, 429, "RATE_LIMIT_EXCEEDED"),
        (sandbox.inject_server_error, 500, "INTERNAL_SERVER_ERROR"),
    ],
)
def test_other_injected_faults(client, token, inject, status, code):
    inject()
    r = call(client, token, "{ me { id } }")
    assert r.status_code == status
    assert codes(r) == [code]
    assert call(client, token, "{ me { id } }").status_code == 200
    assert sandbox.stats()["faults"] == 1
    assert sandbox.stats()["calls"] == 2


def test_stats_count_calls_and_mutations(client, token):
    create(client, token)
    call(client, token, "{ me { id } }")
    call(client, token, json.dumps("not graphql"))
    s = sandbox.stats()
    assert (s["calls"], s["mutations"], s["errors"]) == (3, 1, 1)
