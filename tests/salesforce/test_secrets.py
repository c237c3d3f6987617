"""The consumer secret and every session id Salesforce issued appear in no table and no log line,
after connecting, a sync, a renewed session and a refused secret."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.freshbooks.sandbox import seed_demo
from integrations.salesforce import sandbox as sf
from tests.conftest import client_for
from tests.core.test_secrets import assert_nowhere, log_position
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.salesforce.helpers import connect_form, connect_salesforce, only, settle

pytestmark = pytest.mark.django_db


def test_the_consumer_secret_and_sessions_are_stored_encrypted_and_never_logged(tenant_a, admin_a):
    seed_demo()
    sf.reset()
    start = log_position()
    client = client_for(admin_a)
    connect_freshbooks(client)
    client.post(reverse("salesforce-connect"), connect_form(consumer_secret="wrong-secret-not-real-00001"))
    conn = connect_salesforce(client)
    first = conn.secrets()["access_token"]
    sf.end_sessions()
    create_invoice("6000.00")
    settle()
    assert only(sf.opportunities())["Amount"] == "6000.00"
    conn.refresh_from_db()
    second = conn.secrets()["access_token"]
    assert first != second
    assert_nowhere([sf.CONSUMER_SECRET, "wrong-secret-not-real-00001", first, second], start)
