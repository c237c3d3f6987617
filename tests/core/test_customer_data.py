"""Customer data (client names, amounts, invoice numbers) is stored encrypted: after a full flow, a
dump of every product table holds none of it in clear, and the audit log still finds it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from integrations.sandbox.models import SandboxObject
from mlconnector.pipeline import dispatcher
from mlconnector.webhooks.models import InboundEvent
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.pipeline_helpers import sink_connection

pytestmark = pytest.mark.django_db

# The fake providers' own tables stand in for FreshBooks, Slack...: their data is theirs, not ours.
# django-q2's task rows carry ids; its results are checked too.
NOT_OURS = ("sandbox_",)


def product_dump() -> str:
    parts = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            if table.startswith(NOT_OURS):
                continue
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cur.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts)


def test_no_client_name_amount_or_invoice_number_survives_in_clear(tenant_a, admin_a):
    """Through every target we ship: the test sink, Slack (its post log) and Monday (its item links)."""
    from integrations.freshbooks.sandbox import seed_demo
    from integrations.monday import sandbox as monday_sandbox
    from tests.monday.helpers import connect_monday, invoice_map_form, save_map
    from tests.slack.helpers import rule, sandbox_slack_connection

    seed_demo()
    monday_sandbox.reset()
    sink_connection(tenant_a)
    client = client_for(admin_a)
    connect_freshbooks(client)
    sandbox_slack_connection(tenant_a)
    rule(tenant_a, "All invoices", "accounting", ["invoice.create"])
    monday = connect_monday(client)
    assert save_map(client, monday, "invoice", invoice_map_form()).status_code == 302
    create_invoice("6543.21")
    dispatcher.tick()
    dispatcher.tick()
    event = InboundEvent.objects.get(event_type="invoice.create")
    assert event.status == "processed" and event.counterparty == "Northwind Traders"
    number = event.invoice_number
    assert number and SandboxObject.objects.filter(kind="invoice").exists()

    dump = product_dump()
    for clear in ("Northwind Traders", "Northwind", "6543.21", "6,543.21", number):
        assert clear not in dump, f"{clear!r} is stored in clear"

    # ...and the audit log still finds the event by client, by invoice number and by its digits.
    url = reverse("audit-events")
    for query in ("northwind", "NORTH", "Northwind Traders", number, f"#{number}", number.lstrip("0")):
        found = client.get(url, {"q": query}).context["events"]
        assert [e.pk for e in found] == [event.pk], query
    assert client.get(url, {"q": "southwind"}).context["events"] == []
