"""Replay: send a delivery (or re-process an event) again, on a person's request, audited.

A replay never repeats a side effect that already succeeded unless the person asked to resend:
succeeded deliveries are skipped by default, and sync handlers find earlier writes through
RecordLink, so a replayed write becomes an update of the same remote record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import F, QuerySet
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent

S = Delivery.Status
# Nothing to send is replayable too: a rule or board added since may now address it.
REPLAYABLE = [S.FAILED, S.RETRYING, S.WAITING, S.PENDING, S.SKIPPED]


@dataclass
class ReplayResult:
    queued: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{len(self.queued)} queued for replay"
        if self.skipped:
            text += f", {len(self.skipped)} skipped (already delivered, or running right now)"
        return text


def replay_deliveries(
    deliveries: QuerySet[Delivery], *, actor, resend: bool = False, prepare: bool = True, by: str = ""
) -> ReplayResult:
    """Queue deliveries again. `prepare=False` when the caller already chose exactly what to redo
    (e.g. one Slack post of several), so the integration does not reset the rest. `by` names who asked
    in the audit trail when the username alone does not (e.g. "alice with API token “nightly”")."""
    result = ReplayResult()
    allowed = REPLAYABLE + ([S.SUCCEEDED] if resend else [])
    now = timezone.now()
    for delivery in deliveries.select_related("event", "connection", "tenant"):
        if delivery.status not in allowed:
            result.skipped.append(delivery.pk)
            continue
        if prepare:
            # Before the delivery becomes due, so a dispatcher cannot run it with stale state.
            _prepare(delivery, resend=resend and delivery.status == S.SUCCEEDED)
        updated = Delivery.objects.filter(pk=delivery.pk, status=delivery.status).update(
            status=S.PENDING,
            next_attempt_at=now,
            dispatched_at=None,
            first_attempt_at=None,
            attempts=0,
            worker_deaths=0,
            replays=F("replays") + 1,
            resend=resend and delivery.status == S.SUCCEEDED,
            updated_at=now,
        )
        if not updated:
            result.skipped.append(delivery.pk)
            continue
        result.queued.append(delivery.pk)
        record(
            AuditRecord.Kind.REPLAY,
            delivery=delivery,
            event=delivery.event,
            connection=delivery.connection,
            actor=actor,
            message=("resend requested" if resend and delivery.status == S.SUCCEEDED else "replay")
            + f" by {by or getattr(actor, 'username', 'system')} (was {delivery.status})",
        )
    from mlconnector.pipeline.dispatcher import enqueue_deliveries

    enqueue_deliveries(result.queued)
    return result


def _prepare(delivery: Delivery, *, resend: bool) -> None:
    from mlconnector.contract import UnknownProvider, registry

    try:
        integration = registry.get(delivery.connection.provider)(delivery.connection)
    except UnknownProvider:
        return
    integration.prepare_replay(delivery, resend=resend)


def replay_events(events: QuerySet[InboundEvent], *, actor) -> ReplayResult:
    """Re-run enrichment and fan-out for events that failed or waited."""
    result = ReplayResult()
    now = timezone.now()
    for event in events.select_related("connection", "tenant"):
        if event.status not in (InboundEvent.Status.FAILED, InboundEvent.Status.WAITING, InboundEvent.Status.RETRYING):
            result.skipped.append(event.pk)
            continue
        if InboundEvent.objects.filter(pk=event.pk, status=event.status).update(
            status=InboundEvent.Status.RETRYING, next_attempt_at=now, dispatched_at=None, worker_deaths=0
        ):
            result.queued.append(event.pk)
            record(
                AuditRecord.Kind.REPLAY,
                event=event,
                connection=event.connection,
                actor=actor,
                message=f"event re-processing requested by {getattr(actor, 'username', 'system')}",
            )
        else:
            result.skipped.append(event.pk)
    return result
