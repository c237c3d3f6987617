"""The Slack flow tests' world: both sandboxes, an admin who connected FreshBooks and Slack, the demo rules."""

from __future__ import annotations

import pytest

from integrations.freshbooks.sandbox import seed_demo
from integrations.slack.sandbox import state as slack_sandbox
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks
from tests.slack.helpers import connect_slack, demo_rules


@pytest.fixture
def world(db, tenant_a, admin_a, settings):
    # Keep the suite fast: a short per-channel limit, and our pacing a little wider than it (as in
    # production), so timing jitter never earns a 429 here. Pacing itself: tests/live/test_slack_burst.py.
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = 0.02
    settings.SLACK_CHANNEL_INTERVAL = 0.05
    settings.SLACK_PACING_MARGIN = 0.0
    seed_demo()
    slack_sandbox.ensure_workspace()
    client = client_for(admin_a)
    page = connect_slack(client)
    assert b"Slack connected: " in page.content
    connect_freshbooks(client)
    demo_rules(tenant_a)
    return client
