"""Template filters for the product pages: times and durations in words."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def ago(value) -> str:
    """'just now', '3 hours ago' (the largest unit only: a person reads the gist)."""
    if not value:
        return ""
    if (timezone.now() - value).total_seconds() < 60:
        return "just now"
    return f"{timesince(value, timezone.now()).split(',')[0]} ago"


@register.filter
def until(value) -> str:
    """'in 12 minutes', 'in under a minute', 'due now' (a time ahead, e.g. a job's next run)."""
    if not value:
        return ""
    ahead = (value - timezone.now()).total_seconds()
    if ahead <= 0:
        return "due now"
    if ahead < 60:
        return "in under a minute"
    return f"in {timesince(timezone.now(), value).split(',')[0]}"


@register.filter
def duration(seconds) -> str:
    """A number of seconds in words, largest unit only: '40 seconds', '3 minutes', '2 hours'."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = round(seconds / size)
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@register.filter
def event_words(event) -> str:
    """An event's type in words, as its source names it: "Invoice created", "Payment received"."""
    from mlconnector.contract import UnknownProvider, describe_event_type, registry

    event_type = getattr(event, "event_type", event)
    provider = getattr(event, "provider", "") or "freshbooks"
    try:
        return registry.get(provider).event_label(event_type)
    except UnknownProvider:
        return describe_event_type(event_type)
