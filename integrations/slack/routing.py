"""Which channels an event goes to: the tenant's enabled rules, in order, each channel once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from integrations.slack.models import RoutingRule


@dataclass(frozen=True)
class Facts:
    """What a rule looks at, read off an event (or anything shaped like one)."""

    event_type: str
    amount: Decimal | None
    currency: str
    counterparty: str
    category: str

    @classmethod
    def of(cls, event) -> Facts:
        record = event.payload if isinstance(getattr(event, "payload", None), dict) else {}
        return cls(
            event_type=event.event_type,
            amount=event.amount,
            currency=(event.currency or "").upper(),
            counterparty=(event.counterparty or "").strip(),
            category=category_of(record),
        )


def category_of(record: dict[str, Any]) -> str:
    category = record.get("category")
    if isinstance(category, dict):
        return str(category.get("category") or category.get("name") or "").strip()
    return ""


def matches(rule: RoutingRule, facts: Facts) -> bool:
    if not rule.enabled or facts.event_type not in (rule.event_types or []):
        return False
    if rule.currency and rule.currency.upper() != facts.currency:
        return False
    if rule.comparison and rule.threshold is not None:
        if facts.amount is None:
            return False
        amount, threshold = Decimal(facts.amount), Decimal(rule.threshold)
        if rule.comparison == RoutingRule.Comparison.AT_LEAST and not amount >= threshold:
            return False
        if rule.comparison == RoutingRule.Comparison.ABOVE and not amount > threshold:
            return False
        if rule.comparison == RoutingRule.Comparison.BELOW and not amount < threshold:
            return False
    if rule.counterparty and rule.counterparty.strip().casefold() != facts.counterparty.casefold():
        return False
    excluded = {c.strip().casefold() for c in (rule.exclude_categories or []) if c.strip()}
    if excluded and facts.category.casefold() in excluded:
        return False
    return True


def rules_for(tenant_id: int, team_id: str = "") -> list[RoutingRule]:
    rules = RoutingRule.objects.filter(tenant_id=tenant_id, enabled=True).order_by("position", "id")
    return [r for r in rules if not r.team_id or not team_id or r.team_id == team_id]


def route(rules: Iterable[RoutingRule], facts: Facts) -> list[RoutingRule]:
    """The matching rules, first one per channel: an event is posted to each channel once."""
    chosen: dict[str, RoutingRule] = {}
    for rule in rules:
        if rule.channel_id not in chosen and matches(rule, facts):
            chosen[rule.channel_id] = rule
    return list(chosen.values())
