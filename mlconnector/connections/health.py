"""Connection health in business words: what is wrong, since when, what waits, and the one fix.

The pages never show a raw exception: `plain_error` turns the pipeline's messages (already
redacted) into a sentence a finance admin understands, and `health` sums up one connection from
its status, its last error and the deliveries and events that wait for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count

from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent

Status = Connection.Status

# (pattern, sentence) in order: the first match wins. {p} is the provider's label.
_PLAIN = [
    (
        r"revoked|invalid_auth|token_revoked|account_inactive|refresh token|cannot be refreshed|nothing to authent",
        "Token revoked or expired",
    ),
    (r"\b401\b|unauthori[sz]ed|not_authed|invalid_grant", "{p} no longer accepts our sign-in"),
    (r"missing_scope|\b403\b|forbidden|permission", "{p} refused: missing permission"),
    (r"channel_not_found", "The Slack channel no longer exists"),
    (r"not_in_channel|is_archived", "The app cannot post in that Slack channel"),
    (r"\b429\b|rate.?limit|ratelimited|too many requests", "{p} asked us to slow down (rate limited)"),
    (r"timed? ?out|timeout", "{p} did not answer in time"),
    (r"\b50[0-4]\b|unavailable|connection refused|could not reach", "{p} was unavailable"),
    (r"disconnected", "The connection was disconnected"),
    (r"\b404\b|not.?found", "{p} could not find the record"),
]
_PLAIN = [(re.compile(pattern, re.IGNORECASE), sentence) for pattern, sentence in _PLAIN]


def plain_error(message: str, provider_label: str = "The provider") -> str:
    """One short sentence for an error message; unknown messages are shown (trimmed) as they are."""
    text = (message or "").strip()
    if not text:
        return ""
    for pattern, sentence in _PLAIN:
        if pattern.search(text):
            return sentence.format(p=provider_label)
    first_line = text.splitlines()[0]
    return first_line[:200] + ("…" if len(first_line) > 200 else "")


def _noun(event_type: str) -> str:
    return (event_type.split(".", 1)[0] or "record").replace("_", " ")


def what_waits(counts: dict[str, int]) -> str:
    """{"invoice": 14, "payment": 1} -> "14 invoices and 1 payment"."""
    parts = [f"{n} {noun}{'' if n == 1 else 's'}" for noun, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


@dataclass
class Health:
    connection: Connection
    tone: str = "ok"  # ok / warn / error: the colour of the summary
    headline: str = ""
    detail: str = ""
    waiting: dict[str, int] = field(default_factory=dict)
    waiting_total: int = 0
    failed: int = 0
    fix: str = ""  # reconnect / resume / choose / replay_failed / ""

    @property
    def waiting_text(self) -> str:
        return what_waits(self.waiting)


def _ago(when: datetime | None) -> str:
    from mlconnector.connections.templatetags.mlc import ago

    return ago(when)


def waiting_by_type(conn: Connection) -> dict[str, int]:
    """What waits for this connection, by business noun: its deliveries (as a target) and events (as a source)."""
    counts: dict[str, int] = {}
    rows = (
        Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING)
        .values_list("event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    events = (
        InboundEvent.objects.filter(connection=conn, status=InboundEvent.Status.WAITING)
        .values_list("event_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    for event_type, n in [*rows, *events]:
        counts[_noun(event_type)] = counts.get(_noun(event_type), 0) + n
    return counts


def health(conn: Connection) -> Health:
    label = conn.get_provider_label()
    h = Health(connection=conn)
    h.waiting = waiting_by_type(conn)
    h.waiting_total = sum(h.waiting.values())
    h.failed = Delivery.objects.filter(connection=conn, status=Delivery.Status.FAILED).count()
    waits = f" — {h.waiting_text} waiting" if h.waiting_total else ""
    if conn.status == Status.NEEDS_RECONNECT:
        h.tone, h.fix = "error", "reconnect"
        reason = plain_error(conn.last_error, label) or "Needs reconnecting"
        h.headline = f"{reason} {_ago(conn.status_changed_at or conn.last_error_at)}".strip() + waits
        h.detail = f"Reconnect {label} and everything waiting is sent once, in order."
    elif conn.status == Status.PAUSED:
        h.tone, h.fix = "warn", "resume"
        held = f" — {h.waiting_text} held" if h.waiting_total else ""
        h.headline = f"Paused {_ago(conn.status_changed_at)}".strip() + held
        h.detail = "Nothing is sent while paused; resuming sends what was held."
    elif conn.status == Status.PENDING:
        h.tone = "warn"
        h.fix = "choose" if (conn.config or {}).get("choices") else "reconnect"
        h.headline = "Setting up: choose the account to connect" if h.fix == "choose" else "Setting up"
    elif conn.status == Status.DISCONNECTED:
        h.tone, h.headline = "warn", f"Disconnected {_ago(conn.status_changed_at)}".strip()
    elif h.failed:
        h.tone, h.fix = "error", "replay_failed"
        last = plain_error(conn.last_error, label)
        h.headline = f"{h.failed} {'delivery' if h.failed == 1 else 'deliveries'} failed" + (
            f" — last: {last} {_ago(conn.last_error_at)}" if last else ""
        )
        h.detail = "Fix the cause, then replay them; what already succeeded is never sent twice."
    else:
        h.headline = "Working" + (f" — last success {_ago(conn.last_success_at)}" if conn.last_success_at else "")
        if (
            conn.last_error
            and conn.last_error_at
            and (conn.last_success_at is None or conn.last_error_at > conn.last_success_at)
        ):
            h.tone = "warn"
            h.detail = f"Last problem {_ago(conn.last_error_at)}: {plain_error(conn.last_error, label)}"
        elif h.waiting_total:
            # Working, yet something waits on a condition of its own (HubSpot without invoice support, a
            # Slack channel to unarchive): not green, and the reason in words.
            h.tone = "warn"
            recent = Delivery.objects.filter(connection=conn, status=Delivery.Status.WAITING).order_by("-pk")
            reason = next((e for e in recent.values_list("last_error", flat=True)[:5] if e), "")  # encrypted
            if reason:
                h.detail = f"Waiting because: {plain_error(reason, label)}"
        h.headline += waits
    return h
