"""The Monday sandbox's console and board pages, and board changes made behind the integration's back."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from integrations.monday import sandbox
from integrations.monday.sandbox.complexity import budget
from tests.monday.test_sandbox_api import call, codes, create


@pytest.fixture
def token(db):
    sandbox.reset()
    return sandbox.issue_personal_token()


@pytest.fixture
def csrf_client():
    return Client(enforce_csrf_checks=True)


def _csrf(client, url) -> str:
    html = client.get(url).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_home_lists_boards_with_counts_and_budget(client, token):
    sandbox.add_item("Invoices", "one")
    sandbox.add_item("Invoices", "two")
    html = client.get("/sandbox/monday/").content.decode()
    invoices = sandbox.board("Invoices")["id"]
    assert f'<a href="/sandbox/monday/boards/{invoices}/">Invoices</a>' in html
    assert re.search(rf"{invoices}</code></td><td class=\"num\">2</td>", html)
    assert "Bills &amp; expenses" in html
    assert "10000000" in html
    assert token not in html  # only the last four characters of existing tokens
    assert f"…{token[-4:]}" in html


def test_sandbox_index_links_to_the_monday_console(client, db):
    assert 'href="/sandbox/monday/"' in client.get("/sandbox/").content.decode()


def test_personal_token_is_shown_once_and_works(client, db):
    sandbox.reset()
    r = client.post("/sandbox/monday/console/token/")
    html = r.content.decode()
    assert '<label for="personal-token">Personal API token</label>' in html
    raw = re.search(r'id="personal-token" name="personal-token" type="text" value="([^"]+)"', html).group(1)
    assert call(client, raw, "{ me { id } }").status_code == 200
    assert raw not in client.get("/sandbox/monday/").content.decode()


def test_board_page_shows_items_by_group_with_escaped_text(client, token):
    create(
        client, token, name="<script>alert(1)</script>", values={"status": {"label": "Paid"}, "text_mkq1cl1e": "A&B"}
    )
    sandbox.add_item("Invoices", "Old one", {"text_mkq1inv0": "INV-OLD"}, group_id="group_mkq7arch")
    html = client.get(f"/sandbox/monday/boards/{sandbox.board('Invoices')['id']}/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "A&amp;B" in html
    assert re.search(r'<span class="status-label" style="background: #[0-9a-f]{6}">Paid</span>', html)
    assert html.index("This month") < html.index("&lt;script&gt;") < html.index("Archive") < html.index("INV-OLD")
    assert 'Due date<span class="type muted">date · <code>date4</code>' in html


def test_unknown_board_page_is_404(client, token):
    assert client.get("/sandbox/monday/boards/123/").status_code == 404


def test_deleted_column_makes_later_writes_fail(client, token, csrf_client):
    create(client, token, values={"text_mkq1inv0": "INV-1"})
    board = sandbox.board("Invoices")["id"]
    url = f"/sandbox/monday/boards/{board}/"
    r = csrf_client.post(f"{url}columns/text_mkq1inv0/delete/", {"csrfmiddlewaretoken": _csrf(csrf_client, url)})
    assert r.status_code == 302
    assert "text_mkq1inv0" not in sandbox.board("Invoices")["column_ids"].values()
    assert "text_mkq1inv0" not in sandbox.items("Invoices")[0]["values"]
    [error] = create(client, token, values={"text_mkq1inv0": "INV-2"}).json()["errors"]
    assert error["extensions"]["code"] == "InvalidColumnIdException"


def test_console_post_without_csrf_is_refused(csrf_client, token):
    board = sandbox.board("Invoices")["id"]
    assert csrf_client.post(f"/sandbox/monday/boards/{board}/columns/date4/delete/").status_code == 403
    assert "date4" in sandbox.board("Invoices")["column_ids"].values()


def test_retyped_column_changes_what_is_accepted(client, token):
    create(client, token, values={"text_mkq1inv0": "1234"})
    sandbox.retype_column("Invoices", "text_mkq1inv0", "numbers")
    assert sandbox.items("Invoices")[0]["values"]["text_mkq1inv0"]["value"] == '"1234"'
    assert codes(create(client, token, values={"text_mkq1inv0": "INV-9"})) == ["ColumnValueException"]
    q = '{ boards(ids: [1876543210]) { columns(ids: ["text_mkq1inv0"]) { type } } }'
    assert call(client, token, q).json()["data"]["boards"][0]["columns"] == [{"type": "numbers"}]


def test_retype_through_the_page(client, token):
    board = sandbox.board("Invoices")["id"]
    r = client.post(f"/sandbox/monday/boards/{board}/columns/long_text_mkq6nts3/retype/", {"type": "text"})
    assert r.status_code == 302
    assert sandbox.board("Invoices")["columns"][9]["type"] == "text"


def test_console_budget_window_and_fault_controls(client, token):
    assert client.post("/sandbox/monday/console/budget/", {"points": "12345"}).status_code == 302
    assert budget() == 12345
    assert client.post("/sandbox/monday/console/budget/", {"points": "lots"}).status_code == 302
    assert budget() == 12345
    assert create(client, token).status_code == 200
    assert create(client, token).status_code == 429
    client.post("/sandbox/monday/console/reset-window/")
    assert create(client, token).status_code == 200
    for fault, status in (("423", 423), ("500", 500), ("429", 429)):
        client.post("/sandbox/monday/console/inject/", {"fault": fault})
        assert call(client, token, "{ me { id } }").status_code == status
    assert call(client, token, "{ me { id } }").status_code == 200


def test_a_person_can_set_a_status_by_hand_on_the_board_page(db):
    from django.test import Client
    from django.urls import reverse

    from integrations.monday import sandbox

    sandbox.reset()
    board = sandbox.board("Invoices")
    item_id = sandbox.add_item("Invoices", "Invoice 1", {board["column_ids"]["Status"]: {"label": "Sent"}})
    client = Client()
    page = client.get(reverse("sandbox-monday-board", args=[board["id"]])).content.decode()
    assert "Change a status by hand" in page and '<option value="Stuck">Stuck</option>' in page
    url = reverse("sandbox-monday-status", args=[board["id"]])
    response = client.post(url, {"item": item_id, "column": "status", "label": "Stuck"}, follow=True)
    assert "set to “Stuck” by hand" in response.content.decode()
    assert sandbox.items("Invoices")[0]["by_title"]["Status"]["text"] == "Stuck"
    refused = client.post(url, {"item": item_id, "column": "status", "label": "Nope"}, follow=True)
    assert "label does not exist in column" in refused.content.decode()
    assert sandbox.items("Invoices")[0]["by_title"]["Status"]["text"] == "Stuck"
