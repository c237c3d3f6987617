"""'Preview this rule': which of the tenant's last 50 real events it would have posted, and how."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.slack import messages
from integrations.slack.models import EVENT_LABELS, RoutingRule
from integrations.slack.routing import Facts, matches
from mlconnector.webhooks.models import InboundEvent

PREVIEW_EVENTS = 50


@dataclass
class PreviewRow:
    event: InboundEvent
    would_post: bool
    message: dict | None

    @property
    def parts(self) -> dict:
        return messages.plain_parts(self.message)

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event.event_type, self.event.event_type)


def recent_events(tenant_id: int):
    """The tenant's last real FreshBooks events that carry a record (what a rule would have seen)."""
    return (
        InboundEvent.objects.filter(tenant_id=tenant_id, payload__isnull=False)
        .exclude(status__in=[InboundEvent.Status.IGNORED])
        .order_by("-received_at", "-id")[:PREVIEW_EVENTS]
    )


def preview_rule(rule: RoutingRule) -> list[PreviewRow]:
    """Evaluate the rule as if it were enabled; posts nothing."""
    candidate = RoutingRule(**{f.attname: getattr(rule, f.attname) for f in RoutingRule._meta.concrete_fields})
    candidate.enabled = True
    rows = []
    for event in recent_events(rule.tenant_id):
        hit = matches(candidate, Facts.of(event))
        rows.append(PreviewRow(event=event, would_post=hit, message=messages.build(event) if hit else None))
    return rows
