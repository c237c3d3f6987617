"""The board map editor: live columns, only compatible pairs, plain-words refusals, read-only for viewers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.monday import sandbox
from integrations.monday.models import BoardMap
from tests.conftest import client_for
from tests.monday.helpers import INVOICES, PAYMENTS, connect_monday, invoice_map_form, save_map
from tests.pipeline_helpers import audit_messages  # noqa: E402

pytestmark = pytest.mark.django_db


@pytest.fixture
def monday(as_admin_a):
    sandbox.reset()
    return connect_monday(as_admin_a)


def errors_of(response) -> str:
    assert response.status_code == 400
    return response.content.decode()


def test_it_offers_only_compatible_columns(as_admin_a, monday):
    page = as_admin_a.get(
        reverse("monday-map-edit", args=[monday.pk, "invoice"]) + f"?board={sandbox.board(INVOICES)['id']}"
    )
    form = page.context["form"]
    amount = [label for value, label in form.fields["col_amount"].widget.choices if value]
    assert amount and all("(numbers)" in c or "(text)" in c for c in amount)
    due = [label for value, label in form.fields["col_due_date"].widget.choices if value]
    assert "“Due date” (date)" in due and not any("(numbers)" in c for c in due)
    labels = [value for value, _ in form.fields["label_paid"].widget.choices if value]
    assert "Paid" in labels  # the status column's labels, read from its settings


def test_a_valid_map_is_saved_with_its_columns_and_labels(as_admin_a, monday):
    assert save_map(as_admin_a, monday, "invoice", invoice_map_form()).status_code == 302
    bm = BoardMap.objects.get(connection=monday, record_type="invoice")
    assert bm.board_name == INVOICES and bm.group_title == "This month"
    assert {c.field: c.column_type for c in bm.columns.all()}["amount"] == "numbers"
    assert bm.status_labels["paid"] == "Paid"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"col_amount": "date4"}, "“Due date” (date) cannot hold amount: choose a numbers or text column."),
        (
            {"col_invoice_number": "text_mkq1cl1e"},
            "“Client” (text) already holds client name; each column can hold one field.",
        ),
        ({"col_amount": "gone_column"}, "That column is not on the board “Invoices” any more; choose another."),
        (
            {"label_paid": "Done"},
            "“Done” is not a label of the column “Status”. "
            "Its labels are: Draft, Sent, Viewed, Partial, Paid, Overdue, Stuck.",
        ),
        ({"label_paid": ""}, "Choose the label for paid invoices: recording a payment sets it."),
        ({"group": "nope"}, "That group is not on the board “Invoices”; choose one of its groups."),
    ],
)
def test_invalid_maps_are_refused_with_the_reason_next_to_the_field(as_admin_a, monday, overrides, message):
    page = errors_of(save_map(as_admin_a, monday, "invoice", invoice_map_form(**overrides)))
    assert message in page
    assert not BoardMap.objects.exists()


def test_a_map_with_no_columns_is_refused(as_admin_a, monday):
    form = {k: ("" if k.startswith("col_") else v) for k, v in invoice_map_form().items()}
    page = errors_of(save_map(as_admin_a, monday, "invoice", form))
    assert "Choose at least one column to fill in" in page
    assert not BoardMap.objects.exists()


def test_saving_without_a_board_is_refused(as_admin_a, monday):
    page = errors_of(as_admin_a.post(reverse("monday-map-edit", args=[monday.pk, "invoice"]), {}))
    assert "Choose a board first." in page


def test_a_viewer_sees_the_editor_read_only(as_admin_a, viewer_a, monday):
    save_map(as_admin_a, monday, "invoice", invoice_map_form())
    viewer = client_for(viewer_a)
    page = viewer.get(reverse("monday-map-edit", args=[monday.pk, "invoice"]))
    text = page.content.decode()
    assert page.status_code == 200 and "only an admin of this tenant can change it" in text
    assert "Save map" not in text and all(f.disabled for f in page.context["form"].fields.values())
    assert (
        viewer.post(
            reverse("monday-map-edit", args=[monday.pk, "invoice"]), invoice_map_form(col_amount="")
        ).status_code
        == 403
    )
    assert BoardMap.objects.get().columns.filter(field="amount").exists()


def test_the_editor_shows_when_the_board_no_longer_matches(as_admin_a, monday):
    save_map(as_admin_a, monday, "invoice", invoice_map_form())
    sandbox.retype_column(INVOICES, sandbox.board(INVOICES)["column_ids"]["Amount"], "text")
    page = as_admin_a.get(reverse("monday-map-edit", args=[monday.pk, "invoice"])).content.decode()
    assert "This map no longer matches the board" in page and "is now a text column" in page


def test_a_map_can_be_removed_by_an_admin(as_admin_a, monday):
    save_map(as_admin_a, monday, "invoice", invoice_map_form())
    response = as_admin_a.post(reverse("monday-map-delete", args=[monday.pk, "invoice"]))
    assert response.status_code == 302 and not BoardMap.objects.exists()


def test_the_overview_lists_every_record_type(as_admin_a, monday):
    save_map(as_admin_a, monday, "invoice", invoice_map_form())
    page = as_admin_a.get(reverse("monday-maps", args=[monday.pk])).content.decode()
    for label in ("Invoices", "Payments", "Bills", "Expenses"):
        assert label in page
    assert "Not written to Monday" in page


def board_list_calls() -> int:
    return audit_messages(kind="http", provider="monday").count("Boards")


def test_the_board_picker_pages_past_200_boards(as_admin_a, monday):
    added = sandbox.add_boards(230)  # with the three seeded ones: 233 boards, two pages of 200
    before = board_list_calls()
    page = as_admin_a.get(reverse("monday-map-edit", args=[monday.pk, "invoice"]))
    choices = page.context["board_choices"]
    assert len(choices) == 233 and board_list_calls() == before + 2
    ids = [board_id for board_id, _ in choices]
    assert added[-1] in ids and sandbox.board(INVOICES)["id"] in ids
    names = [name for _, name in choices]
    assert names == sorted(names, key=str.casefold)  # by name, so a long list can be scanned
    # The 230th board can be chosen and its columns shown.
    chosen = as_admin_a.get(reverse("monday-map-edit", args=[monday.pk, "invoice"]) + f"?board={added[-1]}")
    assert chosen.context["board"].name == "Board 230"


def initial_of(form) -> dict[str, str]:
    return {name: field.initial for name, field in form.fields.items() if field.initial and name != "group"}


def test_a_new_map_preselects_the_columns_and_labels_whose_names_match(as_admin_a, monday):
    board = sandbox.board(INVOICES)
    ids = board["column_ids"]
    page = as_admin_a.get(reverse("monday-map-edit", args=[monday.pk, "invoice"]) + f"?board={board['id']}")
    chosen = initial_of(page.context["form"])
    assert chosen == {
        "col_client_name": ids["Client"],
        "col_invoice_number": ids["Invoice number"],
        "col_amount": ids["Amount"],
        "col_due_date": ids["Due date"],
        "col_issue_date": ids["Issue date"],
        "col_status": ids["Status"],
        "col_client_email": ids["Client email"],
        "col_link": ids["FreshBooks link"],
        "label_draft": "Draft",
        "label_sent": "Sent",
        "label_viewed": "Viewed",
        "label_partial": "Partial",  # FreshBooks says "partly paid"; the board says "Partial"
        "label_paid": "Paid",
        "label_overdue": "Overdue",
    }
    html = page.content.decode()
    assert "14 choices below were made for you because the names match" in html
    assert html.count('<span class="matched">matched by name</span>') == 14


def test_a_saved_map_is_shown_as_saved_not_as_suggested(as_admin_a, monday):
    save_map(as_admin_a, monday, "invoice", invoice_map_form())  # five columns, four labels
    page = as_admin_a.get(reverse("monday-map-edit", args=[monday.pk, "invoice"]))
    chosen = initial_of(page.context["form"])
    assert "col_link" not in chosen and "label_viewed" not in chosen and len(chosen) == 9
    assert "made for you" not in page.content.decode()


def test_payments_match_their_own_board_by_name(as_admin_a, monday):
    board = sandbox.board(PAYMENTS)
    ids = board["column_ids"]
    page = as_admin_a.get(reverse("monday-map-edit", args=[monday.pk, "payment"]) + f"?board={board['id']}")
    assert initial_of(page.context["form"]) == {
        "col_client_name": ids["Client"],
        "col_invoice_number": ids["Invoice number"],
        "col_amount": ids["Amount"],
        "col_payment_date": ids["Payment date"],
        "col_payment_method": ids["Method"],
    }


def test_suggestions_respect_types_take_each_column_once_and_prefer_a_fields_own_name():
    from integrations.monday.boards import Column
    from integrations.monday.columns import suggest_columns, suggest_labels

    columns = [
        Column("c1", "Customer", "text"),
        Column("c2", "TOTAL", "numbers"),
        Column("c3", "Due date", "text"),  # a text column can hold a date
        Column("c4", "Date", "date"),  # another name of both the issue and the payment date
        Column("c5", "Status", "dropdown"),  # not a type the status can go to
        Column("c6", "Invoice #", "text"),
        Column("c7", "Amount", "numbers"),
    ]
    assert suggest_columns("invoice", columns) == {
        "client_name": "c1",
        "amount": "c7",  # its own name wins over "Total", an alias
        "due_date": "c3",
        "issue_date": "c4",
        "invoice_number": "c6",
    }
    assert suggest_labels("bill", ["Done", "Stuck", "Past due", "open"]) == {"overdue": "Past due", "unpaid": "open"}
