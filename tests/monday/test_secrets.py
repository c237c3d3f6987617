"""A Monday personal API token (pasted into the form) and the OAuth client secret appear in no table
and no log line, after a full sync."""

from __future__ import annotations

import pytest
from django.conf import settings

from integrations.freshbooks.sandbox import seed_demo
from integrations.monday import sandbox
from mlconnector.pipeline import dispatcher
from tests.conftest import client_for
from tests.core.test_secrets import assert_nowhere, log_position
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.monday.helpers import INVOICES, connect_monday, invoice_map_form, save_map

pytestmark = pytest.mark.django_db


def test_the_monday_token_is_stored_encrypted_and_never_logged(tenant_a, admin_a):
    seed_demo()
    sandbox.reset()
    start = log_position()
    client = client_for(admin_a)
    connect_freshbooks(client)
    monday = connect_monday(client)
    token = monday.secrets()["access_token"]
    assert save_map(client, monday, "invoice", invoice_map_form()).status_code == 302
    create_invoice("6000.00")
    dispatcher.tick()
    assert len(sandbox.items(INVOICES)) == 1
    assert_nowhere([token, settings.MONDAY_CLIENT_SECRET], start)
