"""The demo as a newcomer meets it: `seed_demo`, connect FreshBooks and Slack, create an invoice."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from integrations.slack.models import RoutingRule
from mlconnector.pipeline import dispatcher
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.slack.helpers import connect_slack, texts

pytestmark = pytest.mark.django_db


def test_the_seeded_demo_routes_a_6000_invoice_to_exec_alerts_and_accounting(settings, capsys):
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL, settings.SLACK_CHANNEL_INTERVAL = 0.02, 0.05
    call_command("seed_demo", password="demo-password-1")
    call_command("seed_demo", password="demo-password-1")  # idempotent: rules are not doubled
    assert RoutingRule.objects.count() == 4
    client = client_for(get_user_model().objects.get(username="demo"))
    connect_freshbooks(client)
    connect_slack(client)
    create_invoice("6000.00")
    for _ in range(3):
        dispatcher.tick()
    assert len(texts("exec-alerts")) == 1 and len(texts("accounting")) == 1
    assert "6,000.00 USD" in texts("exec-alerts")[0]
