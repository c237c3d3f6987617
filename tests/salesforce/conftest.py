"""The world most Salesforce tests start from: FreshBooks and Salesforce connected by an admin."""

from __future__ import annotations

import pytest

from integrations.freshbooks.sandbox import seed_demo
from integrations.salesforce import sandbox as sf
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks
from tests.salesforce.helpers import connect_salesforce


@pytest.fixture
def world(tenant_a, admin_a):
    seed_demo()
    sf.reset()
    client = client_for(admin_a)
    connect_freshbooks(client)
    conn = connect_salesforce(client)
    return client, conn
