"""Connecting Slack through the sandbox in tests, and the demo's rules."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from integrations.slack.models import RoutingRule
from integrations.slack.sandbox import state as slack_sandbox
from mlconnector.connections.models import Connection


def connect_slack(client: Client, decision: str = "allow", query: str = ""):
    """Connect → sandbox consent page → Allow (or Cancel) → back to ml-connector."""
    start = client.get("/connections/slack/connect/" + query)
    assert start.status_code == 302, start.content[:300]
    consent = start["Location"].removeprefix("http://testserver")
    assert consent.startswith("/sandbox/slack/oauth/v2/authorize?")
    assert client.get(consent).status_code == 200
    back = client.post(consent, {"decision": decision})
    assert back.status_code == 302
    return client.get(back["Location"].removeprefix("http://testserver"), follow=True)


def rule(tenant, name, channel, events, comparison="", threshold=None, **extra) -> RoutingRule:
    position = RoutingRule.objects.filter(tenant=tenant).count()
    return RoutingRule.objects.create(
        tenant=tenant,
        name=name,
        position=position,
        event_types=list(events),
        comparison=comparison,
        threshold=Decimal(threshold) if threshold is not None else None,
        channel_id=slack_sandbox.channel_id(channel),
        channel_name=channel,
        team_id=slack_sandbox.TEAM_ID,
        **extra,
    )


def demo_rules(tenant) -> list[RoutingRule]:
    """The issue's rules: big invoices to #exec-alerts, all invoices to #accounting, bills to
    #accounting-team, expenses to #accounting except the Internal category."""
    return [
        rule(tenant, "Big invoices", "exec-alerts", ["invoice.create"], "above", "5000"),
        rule(tenant, "All invoices", "accounting", ["invoice.create", "invoice.update", "payment.create"]),
        rule(tenant, "Bills", "accounting-team", ["bill.create", "bill.update"]),
        rule(tenant, "Expenses", "accounting", ["expense.create"], exclude_categories=["Internal"]),
    ]


def slack_connection(tenant) -> Connection:
    return Connection.objects.get(tenant=tenant, provider="slack")


def texts(channel: str) -> list[str]:
    return [m.get("text", "") for m in slack_sandbox.messages(channel)]


def sandbox_slack_connection(tenant) -> Connection:
    """A Slack connection holding a real bot token issued by the sandbox workspace (no browser)."""
    from django.conf import settings

    from integrations.sandbox import tokens
    from tests.factories import ConnectionFactory

    account = slack_sandbox.ensure_workspace()
    app = tokens.app_for("slack", settings.SLACK_CLIENT_ID)
    issued = slack_sandbox.issue_tokens(account, app, ",".join(settings.SLACK_SCOPES))
    return ConnectionFactory(
        tenant=tenant,
        provider="slack",
        name=account.name,
        credentials={k: issued[k] for k in ("access_token", "refresh_token") if k in issued},
        config={"team_id": account.key, "team_name": account.name},
        external_account_id=account.key,
    )
