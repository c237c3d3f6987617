"""The health endpoints are for orchestrators: no login, the same answer for everyone, and nothing
about any tenant in it (counts, ages and node names only)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import client_for
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import sink_connection, stored_event

COVERED_VIEWS = {"health", "health-workers"}

pytestmark = pytest.mark.django_db


def test_everyone_gets_the_same_answer_and_no_tenant_data(personas, tenant_a):
    source = sandbox_source(tenant_a)
    sink_connection(tenant_a)
    stored_event(source)  # some work exists: Northwind's invoice, in Acme Ltd's tenant
    answers = []
    for client in (Client(), *(client_for(user) for user in personas.values())):
        assert client.get(reverse("health")).json() == {"ok": True}
        response = client.get(reverse("health-workers"))
        body = response.content.decode()
        for private in ("Acme", "acme", "Northwind", "0000042", "Demo Books", "DEMO01"):
            assert private not in body
        data = response.json()
        answers.append((response.status_code, data["ok"], data["work"]["events"]["due_not_handed_out"]))
    assert len(set(answers)) == 1
