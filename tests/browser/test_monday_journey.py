"""The Monday.com journey in a real browser: connect with monday's consent page, map a board's columns
in the editor, see a FreshBooks invoice become an item on the sandbox board; then break the map on
the board (delete the Amount column), read the failure that names the column, fix the map and replay.
And drift: a person sets the item's status to Stuck on Monday, the invoice is paid in FreshBooks, and
the audit trail and the item's page say what Monday showed before it became Paid.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from integrations.freshbooks.sandbox.state import today as freshbooks_today
from integrations.monday import sandbox as monday_sandbox
from integrations.monday.models import BoardMap, ItemDrift
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery
from tests.browser.harness import (
    connect_via_oauth,
    create_freshbooks_invoice,
    expect_state,
    freshbooks_invoice,
    login,
    open_event,
    provider_card,
    record_freshbooks_payment,
    run_pipeline,
    screenshot,
    seed_sandbox,
)
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db(transaction=True)

BOARD = "Invoices"


@pytest.fixture
def monday_live(live):
    seed_sandbox("monday")
    return live


def record_row(page: Page, label: str) -> Locator:
    """A row of the maps overview: Invoices, Payments, Bills, Expenses."""
    return page.locator("tr", has=page.get_by_role("rowheader", name=label, exact=True))


def deliveries_to_monday(page: Page) -> Locator:
    deliveries = page.locator("section", has=page.get_by_role("heading", name="Deliveries"))
    return deliveries.locator("tr", has_text="Monday.com")


def open_board(page: Page, name: str = BOARD) -> None:
    page.goto("/sandbox/monday/")
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def board_item(page: Page, invoice: str) -> Locator:
    """The item's row on the sandbox board: the item is named after the invoice number."""
    return page.locator("tr[data-item-id]", has_text=invoice)


def cell(page: Page, item: Locator, column: str) -> Locator:
    """The item's value in the column with this title (by the header's position in the first group)."""
    titles = [
        t.split("\n")[0].strip() for t in page.locator("section.card").first.locator("thead th").all_inner_texts()
    ]
    return item.locator("td").nth(titles.index(column))


def selected(page: Page, label: str) -> str:
    """The text of the option chosen in the editor's drop-down for this field or status."""
    return page.get_by_label(label, exact=True).locator("option:checked").inner_text()


def map_invoices(page: Page) -> None:
    """The column-map editor, as an admin uses it: board → group → check what was matched by name →
    the odd one out by hand → save."""
    record_row(page, "Invoices").get_by_role("link", name="Choose a board").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoices on Monday.com")
    page.get_by_label("Board").select_option(label=BOARD)
    page.get_by_role("button", name="Show its columns").click()
    expect(page.get_by_role("heading", name=f"Board “{BOARD}”")).to_be_visible()
    page.get_by_label("Group", exact=True).select_option(label="This month")
    # Columns and labels whose names match are already chosen, and say so.
    expect(page.get_by_role("note").filter(has_text="made for you because the names match")).to_contain_text(
        "14 choices"
    )
    for field, column in (
        ("Client name", "“Client” (text)"),
        ("Invoice number", "“Invoice number” (text)"),
        ("Amount", "“Amount” (numbers)"),
        ("Due date", "“Due date” (date)"),
        ("Status", "“Status” (status)"),
        ("Link to FreshBooks", "“FreshBooks link” (link)"),
    ):
        assert selected(page, field) == column, field
    for freshbooks, label in (("Draft", "Draft"), ("Sent", "Sent"), ("Partly paid", "Partial"), ("Paid", "Paid")):
        assert selected(page, f"FreshBooks “{freshbooks}”") == label
    assert selected(page, "Outstanding") == "— not on the board —"  # no column of that name
    # Only compatible columns are offered: a date column is not offered for the amount.
    amount = page.get_by_label("Amount", exact=True)
    expect(amount.locator("option", has_text="“Amount” (numbers)")).to_have_count(1)
    expect(amount.locator("option", has_text="(date)")).to_have_count(0)
    # The person corrects what the names could not say: no client email on this board's items.
    page.get_by_label("Client email", exact=True).select_option(label="— not on the board —")
    screenshot(page, "monday-map-editor")
    page.get_by_role("button", name="Save map").click()
    expect(page.locator(".messages")).to_contain_text(f"Saved: invoices go to the board “{BOARD}”.")
    expect(record_row(page, "Invoices")).to_contain_text(f"{BOARD} · This month")
    expect(record_row(page, "Invoices")).to_contain_text("7 columns")


def test_an_invoice_becomes_an_item_and_a_broken_map_is_named_fixed_and_replayed(
    page: Page, monday_live, admin_a, tenant_a
):
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    message = connect_via_oauth(page, "monday", "Monday.com")
    assert "Monday.com connected: " in message and "Next, choose the boards for your records." in message
    conn = Connection.objects.get(provider="monday")
    expect(page).to_have_url(re.compile(rf"/monday/{conn.pk}/maps/$"))
    expect(record_row(page, "Invoices")).to_contain_text("Not written to Monday")
    map_invoices(page)

    number = create_freshbooks_invoice(page, amount="6000.00")
    run_pipeline()
    open_board(page)
    item = board_item(page, number)
    expect(item).to_have_count(1)
    expect(cell(page, item, "Client")).to_have_text("Northwind Traders")
    expect(cell(page, item, "Invoice number")).to_have_text(number)
    assert Decimal(cell(page, item, "Amount").inner_text()) == Decimal("6000")
    # The invoice's own due date, a day in the books' calendar (FreshBooks: US/Eastern), never a UTC
    # date: the console pre-fills net 30 from *its* today (tests/monday/test_flow.py freezes the clock).
    due = freshbooks_invoice(number)["due_date"]
    assert due == (freshbooks_today() + timedelta(days=30)).isoformat()
    expect(cell(page, item, "Due date")).to_have_text(due)
    expect(cell(page, item, "Status")).to_have_text("Sent")
    screenshot(page, "monday-board", full_page=False)  # the board's items; its column controls are below

    # Someone deletes the mapped Amount column on the board.
    amount_id = monday_sandbox.board(BOARD)["column_ids"]["Amount"]
    page.get_by_role("button", name="Delete column Amount").click()
    expect(page.locator(".messages")).to_contain_text(f"Column {amount_id} deleted.")
    broken = create_freshbooks_invoice(page, amount="250.00")
    run_pipeline()

    # The failure names the column: on the event's deliveries, the connection's health and the maps page.
    open_event(page, broken)
    row = deliveries_to_monday(page)
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("“Amount”")
    expect(row.get_by_role("button", name="Replay")).to_be_visible()
    page.goto("/")
    expect(provider_card(page, "monday")).to_contain_text("1 failed")
    page.goto(f"/monday/{conn.pk}/maps/")
    expect(record_row(page, "Invoices").get_by_role("alert")).to_contain_text("Amount")

    # Fix: the board gets a numbers column again (Notes retyped), and the editor maps the amount to it.
    open_board(page)
    expect(board_item(page, broken)).to_have_count(0)  # nothing half-written
    page.get_by_label("New type for Notes").select_option("numbers")
    page.get_by_role("button", name="Change column type of Notes").click()
    expect(page.locator(".messages")).to_contain_text("is now a numbers column")
    page.goto(f"/monday/{conn.pk}/maps/")
    record_row(page, "Invoices").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("alert").filter(has_text="This map no longer matches the board")).to_contain_text("Amount")
    page.get_by_label("Amount", exact=True).select_option(label="“Notes” (numbers)")
    page.get_by_role("button", name="Save map").click()
    expect(page.locator(".messages")).to_contain_text("Saved: invoices go to the board")
    expect(record_row(page, "Invoices").get_by_role("alert")).to_have_count(0)

    # Replay that one delivery from the audit browser; the worker writes the item.
    open_event(page, broken)
    deliveries_to_monday(page).get_by_role("button", name="Replay").click()
    expect(page.locator(".messages")).to_contain_text("Replay queued")
    run_pipeline()
    open_event(page, broken)
    expect(deliveries_to_monday(page)).to_contain_text("Delivered")
    expect(deliveries_to_monday(page)).to_contain_text("(replayed 1×)")
    open_board(page)
    item = board_item(page, broken)
    expect(item).to_have_count(1)
    expect(cell(page, item, "Client")).to_have_text("Northwind Traders")
    assert Decimal(cell(page, item, "Notes").inner_text()) == Decimal("250")
    expect(board_item(page, number)).to_have_count(1)  # the first item is still there, once
    assert Delivery.objects.filter(connection=conn).exclude(status="succeeded").count() == 0


def test_a_status_a_person_changed_on_monday_is_named_in_the_audit_trail_and_on_the_items_page(
    page: Page, monday_live, admin_a, tenant_a
):
    login(page, "alice")
    connect_via_oauth(page, "freshbooks", "FreshBooks")
    connect_via_oauth(page, "monday", "Monday.com")
    conn = Connection.objects.get(provider="monday")
    map_invoices(page)
    number = create_freshbooks_invoice(page, amount="6000.00")
    run_pipeline()
    open_board(page)
    item = board_item(page, number)
    expect(cell(page, item, "Status")).to_have_text("Sent")

    # Someone on the team marks it Stuck on Monday, by hand.
    name = f"Invoice {number} · Northwind Traders"
    page.get_by_label("Item", exact=True).select_option(label=name)
    page.get_by_label("Status", exact=True).select_option("Stuck")
    page.get_by_role("button", name="Set status").click()
    expect(page.locator(".messages")).to_contain_text("set to “Stuck” by hand")
    expect(cell(page, board_item(page, number), "Status")).to_have_text("Stuck")

    # The invoice is paid in FreshBooks: Monday gets Paid, and what the person had set is not lost.
    record_freshbooks_payment(page, number, "6000.00")
    run_pipeline()
    open_board(page)
    expect(cell(page, board_item(page, number), "Status")).to_have_text("Paid")

    page.goto(f"/monday/{conn.pk}/maps/")
    changed = page.locator("section", has=page.get_by_role("heading", name=re.compile("Changed on Monday")))
    expect(changed).to_contain_text("Status: Monday showed “Stuck”, set by a person; now “Paid” from FreshBooks")
    changed.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    drift = page.locator("table.drifts tbody tr")
    expect(drift).to_have_count(1)
    expect(drift.locator("td").nth(2)).to_contain_text("Stuck")
    expect(drift.locator("td").nth(3)).to_have_text("Sent")
    expect(drift.locator("td").nth(4)).to_have_text("Paid")
    written = page.locator("section", has=page.get_by_role("heading", name="What ml-connector last wrote"))
    expect(written).to_contain_text("Paid")
    screenshot(page, "monday-item-drift")

    # The event that overwrote it has the audit row, in words.
    drift.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text(
        f"({name}): Monday showed “Stuck”, set by a person; now “Paid” from FreshBooks "
        "(ml-connector last wrote “Sent”)."
    )
    assert ItemDrift.objects.count() == 1  # the invoice.update that followed the payment found Paid: no second one


def test_a_personal_api_token_from_the_sandbox_connects_monday(page: Page, monday_live, admin_a):
    page.goto("/sandbox/monday/")
    page.get_by_role("button", name="Create a personal API token").click()
    token = page.get_by_role("textbox", name="Personal API token").input_value()
    assert token
    login(page, "alice")
    page.goto("/connections/monday/token/")
    page.get_by_label(re.compile("token", re.I)).fill("not-a-real-token")
    page.get_by_role("button", name="Check and connect").click()
    expect(page.get_by_role("alert")).to_contain_text("Monday.com did not accept this token")
    page.get_by_label(re.compile("token", re.I)).fill(token)
    page.get_by_role("button", name="Check and connect").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monday.com boards")
    expect(page.locator(".messages")).to_contain_text("Monday.com connected:")
    page.goto("/")
    expect_state(page, "monday", "connected")


def invoice_map(tenant) -> Connection:
    """Tenant's Monday connection with a saved invoices map (as the editor saves it)."""
    token = monday_sandbox.issue_personal_token()  # a live token: the viewer's editor reads the real board
    conn = ConnectionFactory(
        tenant=tenant, provider="monday", name="Acme Monday", credentials={"access_token": token, "kind": "personal"}
    )
    BoardMap.objects.create(
        tenant=tenant,
        connection=conn,
        record_type="invoice",
        board_id=monday_sandbox.board(BOARD)["id"],
        board_name=BOARD,
    )
    return conn


def test_a_viewer_reads_the_monday_maps_and_cannot_change_them(page: Page, monday_live, viewer_a, tenant_a):
    conn = invoice_map(tenant_a)
    login(page, "victor")
    page.goto(f"/monday/{conn.pk}/maps/")
    expect(page.get_by_role("note")).to_contain_text("read-only (viewer) access")
    expect(record_row(page, "Invoices")).to_contain_text(BOARD)
    expect(page.get_by_role("button", name=re.compile("Stop writing"))).to_have_count(0)
    expect(page.get_by_role("link", name="Choose a board")).to_have_count(0)
    record_row(page, "Invoices").get_by_role("link", name="View").click()
    expect(page.get_by_role("note")).to_contain_text("You are viewing this map read-only")
    expect(page.get_by_role("heading", name=f"Board “{BOARD}”")).to_be_visible()
    expect(page.get_by_label("Amount", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Save map")).to_have_count(0)
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    for path in (f"/monday/{conn.pk}/maps/invoice/", f"/monday/{conn.pk}/maps/invoice/delete/"):
        forged = page.request.post(
            path, form={"csrfmiddlewaretoken": token, "board": ""}, headers={"Referer": page.url}
        )
        assert forged.status == 403, path
    assert BoardMap.objects.filter(connection=conn, record_type="invoice").exists()


def test_a_user_of_tenant_b_cannot_reach_tenant_a_monday_maps_by_url(page: Page, monday_live, admin_b, tenant_a):
    conn = invoice_map(tenant_a)
    login(page, "bob")
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    for path in (f"/monday/{conn.pk}/maps/", f"/monday/{conn.pk}/maps/invoice/"):
        assert page.goto(path).status == 404, path
    forged = page.request.post(
        f"/monday/{conn.pk}/maps/invoice/delete/", form={"csrfmiddlewaretoken": token}, headers={"Referer": page.url}
    )
    assert forged.status == 404
    assert BoardMap.objects.filter(connection=conn).exists()
