"""A due date is a day in the books' calendar, whatever the hour in UTC.

FreshBooks keeps accounting dates in US/Eastern (vendors doc §1.3). Between 00:00 and 05:00 UTC the
UTC date is already tomorrow in New York, so anything that computes "today" in UTC is a day off.
With the clock frozen on either side of UTC midnight, an invoice created on the sandbox console with
its pre-filled net-30 due date reaches the FreshBooks record, the Monday item and the Slack message
as the same day.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import time_machine
from django.test import Client

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import rows
from integrations.monday import sandbox
from mlconnector.pipeline import dispatcher
from tests.conftest import client_for
from tests.freshbooks.test_flow import CONSOLE, connect_freshbooks, northwind_id
from tests.monday.helpers import INVOICES, connect_monday, invoice_map_form, save_map

pytestmark = pytest.mark.django_db

# 2026-11-30 in New York for both instants; the first is already 2026-12-01 in UTC.
INSTANTS = ["2026-12-01T00:30:00+00:00", "2026-11-30T23:30:00+00:00"]


def console_due_date() -> str:
    """The due date the console pre-fills, as a person would see it in the form."""
    html = Client().get("/sandbox/freshbooks/").content.decode()
    found = re.search(r'name="invoice-due_date"[^>]*value="([0-9-]+)"', html) or re.search(
        r'value="([0-9-]+)"[^>]*name="invoice-due_date"', html
    )
    assert found, "the console shows no pre-filled due date"
    return found[1]


@pytest.mark.parametrize("instant", INSTANTS)
def test_it_shows_the_books_due_date_on_the_monday_item_at_any_hour_utc(instant, tenant_a, admin_a):
    with time_machine.travel(datetime.fromisoformat(instant), tick=True):
        seed_demo()
        sandbox.reset()
        client = client_for(admin_a)
        connect_freshbooks(client)
        monday = connect_monday(client)
        assert save_map(client, monday, "invoice", invoice_map_form()).status_code == 302

        due = console_due_date()
        assert due == "2026-12-30"  # net 30 from 2026-11-30, New York's date at both instants
        response = Client().post(
            f"{CONSOLE}/invoice/",
            {
                "invoice-customerid": northwind_id(),
                "invoice-amount": "1200.00",
                "invoice-currency_code": "USD",
                "invoice-due_date": due,
            },
        )
        assert response.status_code in (200, 302)
        dispatcher.tick()

        invoice = rows(seed_demo().businesses[0], "invoice").order_by("-id").first().data
        assert invoice["due_date"] == due
        assert invoice["create_date"] == "2026-11-30"
        (item,) = sandbox.items(INVOICES)
        assert item["by_title"]["Due date"]["text"] == due
        assert date.fromisoformat(due)  # a plain day: no time, no zone
