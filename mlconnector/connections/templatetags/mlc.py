"""Template filters for the product pages: times in words."""

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
