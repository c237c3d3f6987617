"""The demo tenant's Slack routing rules, pointing at the sandbox workspace's channels.

With these in place a newcomer who connects FreshBooks and Slack sees a 6,000 invoice land in
#exec-alerts and #accounting, a bill in #accounting-team, and an Internal expense nowhere.
"""

from __future__ import annotations

from decimal import Decimal

from integrations.slack.models import RoutingRule
from integrations.slack.sandbox import state as sandbox_state

DEMO_RULES = (
    ("Invoices over 5,000", "exec-alerts", ["invoice.create"], "above", "5000", {}),
    ("All invoices and payments", "accounting", ["invoice.create", "invoice.update", "payment.create"], "", None, {}),
    ("Bills", "accounting-team", ["bill.create", "bill.update"], "", None, {}),
    ("Expenses (not Internal)", "accounting", ["expense.create"], "", None, {"exclude_categories": ["Internal"]}),
)


def seed_tenant(tenant) -> int:
    """Create the demo rules once (a tenant that already has rules is left alone)."""
    if RoutingRule.objects.filter(tenant=tenant).exists():
        return 0
    sandbox_state.ensure_workspace()
    for position, (name, channel, events, comparison, threshold, extra) in enumerate(DEMO_RULES):
        RoutingRule.objects.create(
            tenant=tenant,
            name=name,
            position=position,
            event_types=events,
            comparison=comparison,
            threshold=Decimal(threshold) if threshold else None,
            channel_id=sandbox_state.channel_id(channel),
            channel_name=channel,
            team_id=sandbox_state.TEAM_ID,
            **extra,
        )
    return len(DEMO_RULES)
