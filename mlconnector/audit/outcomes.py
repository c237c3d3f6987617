"""What an event's badge says: its own state, or, once fanned out, a summary of its deliveries.

A green "Processed" over a failed Slack post misleads the person reading it, so a processed event
reads as its deliveries do: "Delivered", "1 of 2 failed", "Waiting for Slack to be reconnected",
"Delivering (1 of 2 done)" or "Nothing to send". Deliveries with nothing to send are counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent

D, E = Delivery.Status, InboundEvent.Status
IN_FLIGHT = (D.PENDING, D.RUNNING, D.RETRYING)


@dataclass(frozen=True)
class Outcome:
    tone: str  # ok, warn, error, info, muted: the badge's colour
    text: str


def _labels(deliveries: Iterable[Delivery]) -> str:
    names = sorted({d.connection.get_provider_label() for d in deliveries})
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _reason(delivery: Delivery) -> str:
    """The first sentence of why it waits, e.g. "the channel #exec-alerts is archived"."""
    text = (delivery.last_error or "").strip()
    dash = text.find(" — ")  # "Posted to #accounting. Waiting for the channel — #exec-alerts is archived."
    first = (text[dash + 3 :] if dash >= 0 else text).split(". ")[0].rstrip(".")
    return (first[:1].lower() + first[1:])[:120] if first else "it cannot take it yet"


def of_event(event: InboundEvent, deliveries: list[Delivery]) -> Outcome:
    """`deliveries`: the event's deliveries, with their connection loaded."""
    if event.status == E.RECEIVED:
        return Outcome("info", "Received, to be processed")
    if event.status == E.PROCESSING:
        return Outcome("info", "Processing")
    if event.status == E.RETRYING:
        return Outcome("warn", "Retrying: the record could not be fetched yet")
    if event.status == E.FAILED:
        return Outcome("error", "Failed: the record could not be fetched")
    if event.status == E.WAITING:
        return Outcome("warn", f"Waiting for {event.connection.get_provider_label()} to be reconnected")
    if event.status == E.IGNORED:
        return Outcome("muted", "Ignored: not an event ml-connector handles")
    if event.status == E.DUPLICATE:
        return Outcome("muted", "Unchanged: nothing new to deliver")
    real = [d for d in deliveries if d.status != D.SKIPPED]
    if not deliveries:
        return Outcome("muted", "Nothing connected takes it")
    if not real:
        return Outcome("muted", "Nothing to send")
    failed = [d for d in real if d.status == D.FAILED]
    waiting = [d for d in real if d.status == D.WAITING]
    moving = [d for d in real if d.status in IN_FLIGHT]
    done = len(real) - len(failed) - len(waiting) - len(moving)
    if failed:
        text = "Failed" if len(real) == 1 else f"{len(failed)} of {len(real)} failed"
        return Outcome("error", text)
    if waiting:
        # What it waits for: a reconnect, a resume, or something the target watches (a Slack
        # channel that is archived), whose reason the delivery carries.
        stuck = [d for d in waiting if d.connection.status == "needs_reconnect"]
        paused = [d for d in waiting if d.connection.status == "paused"]
        if stuck:
            return Outcome("warn", f"Waiting for {_labels(stuck)} to be reconnected")
        if paused:
            return Outcome("warn", f"Waiting: {_labels(paused)} is paused")
        return Outcome("warn", f"Waiting for {_labels(waiting)}: {_reason(waiting[0])}")
    if moving:
        return Outcome("info", "Delivering" if len(real) == 1 else f"Delivering ({done} of {len(real)} done)")
    return Outcome("ok", "Delivered" if len(real) == 1 else f"Delivered to all {len(real)}")


def attach(events: list[InboundEvent]) -> None:
    """Load the deliveries of a page of events in one query, and set `.delivery_list` and `.outcome`."""
    by_event: dict[int, list[Delivery]] = {}
    rows = Delivery.objects.filter(event__in=[e.pk for e in events]).select_related("connection")
    for d in rows.only("event_id", "provider", "status", "last_error", "connection__provider", "connection__status"):
        by_event.setdefault(d.event_id, []).append(d)
    for event in events:
        event.delivery_list = by_event.get(event.pk, [])
        event.outcome = of_event(event, event.delivery_list)


def links_of(delivery: Delivery) -> list[tuple[str, str]]:
    """What a delivery wrote, as the target's people find it: the integration's words and links
    ("#exec-alerts" to the Slack message, a Monday item to its board)."""
    from mlconnector.contract import registry

    try:
        return registry.get(delivery.connection.provider)(delivery.connection).remote_links(delivery)
    except Exception:  # noqa: BLE001 - a page must not fail over a link: show the raw id
        return [(delivery.remote_id, "")] if delivery.remote_id else []
