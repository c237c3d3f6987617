"""Monday board maps through the API (/api/v1/monday/<connection>/): the map editor's validation
against the live board, its words per field; viewers read, another tenant's connection is a 404."""

from __future__ import annotations

import pytest

from integrations.monday import sandbox
from integrations.monday.models import BoardMap
from tests.monday.helpers import INVOICES, connect_monday, invoice_map_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday(as_admin_a):
    sandbox.reset()
    return connect_monday(as_admin_a)


def invoice_body(**overrides) -> dict:
    form = invoice_map_form(**overrides)
    return {
        "board": form.pop("board"),
        "group": form.pop("group", ""),
        "columns": {k[4:]: v for k, v in form.items() if k.startswith("col_")},
        "status_labels": {k[6:]: v for k, v in form.items() if k.startswith("label_")},
    }


def test_an_admin_saves_reads_and_removes_a_board_map(monday, api):
    url = f"/api/v1/monday/{monday.pk}/maps/invoice/"
    saved = api["admin_a"].put(url, invoice_body())
    assert saved.status_code == 200, saved.content
    assert saved.json()["board_name"] == INVOICES and saved.json()["status_labels"]["paid"] == "Paid"
    assert saved.json()["columns"]["amount"]["column_type"] == "numbers"
    listing = api["viewer_a"].get(f"/api/v1/monday/{monday.pk}/maps/").json()
    assert [(row["record_type"], bool(row["map"])) for row in listing][:2] == [("invoice", True), ("payment", False)]
    assert api["viewer_a"].get(url).json()["board_id"] == saved.json()["board_id"]
    assert api["admin_a"].delete(url).status_code == 204
    assert not BoardMap.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"col_amount": "date4"}, "columns.amount", "“Due date” (date) cannot hold amount"),
        ({"label_paid": "Done"}, "status_labels.paid", "“Done” is not a label of the column “Status”."),
        ({"group": "nope"}, "group", "That group is not on the board “Invoices”"),
    ],
)
def test_a_map_is_refused_with_the_editors_own_words(monday, api, overrides, field, message):
    response = api["admin_a"].put(f"/api/v1/monday/{monday.pk}/maps/invoice/", invoice_body(**overrides))
    assert response.status_code == 400
    assert message in " ".join(response.json()["error"]["fields"][field])
    assert not BoardMap.objects.exists()


def test_an_unknown_board_or_field_is_refused(monday, api):
    url = f"/api/v1/monday/{monday.pk}/maps/invoice/"
    response = api["admin_a"].put(url, {**invoice_body(), "board": "999999"})
    assert response.status_code == 400 and "board" in response.json()["error"]["fields"]
    response = api["admin_a"].put(url, {**invoice_body(), "columns": {"colour": "text0"}})
    assert response.status_code == 400 and "columns.colour" in response.json()["error"]["fields"]


def test_viewers_and_other_tenants_cannot_change_maps(monday, api):
    url = f"/api/v1/monday/{monday.pk}/maps/invoice/"
    assert api["viewer_a"].put(url, invoice_body()).status_code == 403
    assert api["admin_b"].put(url, invoice_body()).status_code == 404
    assert api["admin_b"].get(f"/api/v1/monday/{monday.pk}/maps/").status_code == 404
    assert not BoardMap.objects.exists()


def test_the_boards_are_listed_by_name(monday, api):
    names = [b["name"] for b in api["viewer_a"].get(f"/api/v1/monday/{monday.pk}/boards/").json()]
    assert INVOICES in names and names == sorted(names, key=str.casefold)
