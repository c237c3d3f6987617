"""Slack's bot tokens (two generations, with rotation) and the client secret appear nowhere in plain text."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone

from integrations.sandbox.models import SandboxToken
from integrations.slack.sandbox import state as slack_sandbox
from mlconnector.pipeline import dispatcher
from tests.conftest import client_for
from tests.core.test_secrets import assert_nowhere, log_position
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.slack.helpers import connect_slack, demo_rules, slack_connection, texts

pytestmark = pytest.mark.django_db


def test_slack_tokens_never_reach_the_database_in_clear_or_the_logs(tenant_a, admin_a):
    from integrations.freshbooks.sandbox import seed_demo

    seed_demo()
    slack_sandbox.ensure_workspace()
    start = log_position()
    client = client_for(admin_a)
    connect_slack(client)
    connect_freshbooks(client)
    demo_rules(tenant_a)
    first = dict(slack_connection(tenant_a).credentials)
    SandboxToken.objects.filter(provider="slack", kind="access").update(expires_at=timezone.now())
    create_invoice("100.00")
    dispatcher.tick()
    assert len(texts("accounting")) == 1
    second = dict(slack_connection(tenant_a).credentials)
    assert second["refresh_token"] != first["refresh_token"]
    secrets = {settings.SLACK_CLIENT_SECRET, *first.values(), *second.values()}
    assert_nowhere(secrets, start)
