"""Posts that wait for their channel, and what sends them once the channel is usable again.

When Slack refuses a post because of the channel — `is_archived`, `not_in_channel`,
`channel_not_found` — nothing is wrong with the message or the token: a person will unarchive the
channel, invite the app, or point the rule at another channel. So the post waits (SlackPost status
"waiting", with Slack's error code) and its delivery is parked with `Waiting` (no attempt used).

Two things resume it, and only what they make postable:
- a channel-list refresh (the "Refresh channel list" button, reconnecting, and the connection's
  "channels" job, which lists the channels only while some post waits): each waiting post whose
  channel is now listed and postable goes back to "to post", and its delivery is resumed;
- a change to a rule that routed a waiting post (saved, enabled, disabled, deleted): the delivery is
  resumed and routing runs again, so a post for a channel no rule sends to any more is skipped and
  the rule's new channel gets the message.

Never twice: a post is one row per (delivery, channel) and only a "to post" row is sent (posting.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from integrations.slack.models import SlackPost
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.resume import resume_deliveries

P = SlackPost.Status
# Slack's error -> what the post waits for, in words (shown on the posts page and in the audit trail).
CHANNEL_WAITS = {
    "is_archived": "the channel is archived; it is posted by itself once the channel is unarchived",
    "not_in_channel": "the app is not in the channel; it is posted by itself once someone invites the app",
    "channel_not_found": (
        "the channel is gone, or is private and the app is not in it; it is posted by itself once the "
        "channel is back, or when the rule points at another channel"
    ),
}

# The same, short, for a list of waiting channels.
SHORT_REASONS = {
    "is_archived": "archived",
    "not_in_channel": "the app is not in it; invite the app",
    "channel_not_found": "not found (deleted, or private without the app)",
}


def waits_for_channel(code: str) -> bool:
    return code in CHANNEL_WAITS


def scopes_of(conn) -> set[str]:
    granted = str((conn.config or {}).get("scope") or "")
    return {s.strip() for s in granted.split(",") if s.strip()} or set(settings.SLACK_SCOPES)


def postable(channel: dict | None, code: str, scopes: set[str]) -> bool:
    """Would a post to this listed channel now get past the error it met? The list holds unarchived
    channels only (exclude_archived), and private ones only when the app is in them."""
    if channel is None:
        return False
    if channel.get("is_member"):
        return True
    if code == "not_in_channel":
        return False  # it needs the app invited: the list must say it is a member now
    return not channel.get("is_private") and "chat:write.public" in scopes


def resume_usable(conn, channels: list[dict]) -> int:
    """After a channel-list refresh: send again the waiting posts whose channel is usable now."""
    waiting = list(SlackPost.objects.filter(connection=conn, status=P.WAITING))
    if not waiting:
        return 0
    listed = {c["id"]: c for c in channels}
    scopes = scopes_of(conn)
    ready = [p for p in waiting if postable(listed.get(p.channel_id), p.error_code, scopes)]
    reopened = []
    for post in ready:
        # Conditional: a post someone else reopened (or skipped) meanwhile is left alone.
        if SlackPost.objects.filter(pk=post.pk, status=P.WAITING).update(
            status=P.PENDING, last_error="", error_code="", updated_at=timezone.now()
        ):
            reopened.append(post)
    if not reopened:
        return 0
    names = ", ".join(sorted({f"#{p.channel_name or p.channel_id}" for p in reopened}))
    resume_deliveries(
        Delivery.objects.filter(pk__in={p.delivery_id for p in reopened}),
        f"{names} can be posted to again (seen in Slack's channel list)",
    )
    return len(reopened)


def deliveries_waiting_on(rule_ids) -> set[int]:
    """The deliveries with a post that waits and was routed by one of these rules. Read them before
    changing a rule (a deleted rule no longer names its posts), resume them after."""
    return set(
        SlackPost.objects.filter(rule_id__in=list(rule_ids), status=P.WAITING).values_list("delivery_id", flat=True)
    )


def resume_rerouted(delivery_ids, reason: str) -> int:
    """A rule that routed waiting posts changed: route their events again (nothing is sent to a
    channel no rule wants any more; a rule's new channel gets the message)."""
    if not delivery_ids:
        return 0
    return len(resume_deliveries(Delivery.objects.filter(pk__in=list(delivery_ids)), reason))


def waiting_count(conn) -> int:
    return SlackPost.objects.filter(connection=conn, status=P.WAITING).count()


def waiting_by_channel(posts) -> list[dict]:
    """Waiting posts (an already tenant-scoped queryset) per channel and reason, for the rules page."""
    rows = (
        posts.filter(status=P.WAITING)
        .values("channel_id", "channel_name", "error_code")
        .annotate(n=Count("id"))
        .order_by("channel_name")
    )
    return [{**r, "reason": SHORT_REASONS.get(r["error_code"], "refused by Slack")} for r in rows]
