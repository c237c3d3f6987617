"""Posting one delivery's messages: each routed channel once, paced, and never twice.

A delivery (one FreshBooks event for the tenant's Slack workspace) becomes one SlackPost per routed
channel. Each post moves PENDING → SENDING → POSTED; a retry or replay posts only what is not yet
POSTED. Two cases where we cannot know whether Slack got a message — a read timeout, and a worker
that died between sending and recording — become UNCERTAIN instead of being sent again: a person
checks the channel and presses "Post again" if it is missing. Slack offers no idempotency key, and
we would rather ask than post twice.

A post Slack refused because of its channel (archived, not joined, not found) WAITS: the delivery
is parked with `Waiting` (no attempt used) and waiting.py resumes it once the channel is usable
again or its rule changes. A delivery ends "failed" only when nothing more will happen by itself.

Pacing: chat.postMessage allows about one message per second per channel. Every worker process
reserves the channel's next free slot in the shared limiter (Redis or the database) and sleeps
until it; when the queue of reserved slots is longer than SLACK_MAX_PACING_WAIT the delivery is
handed back to the pipeline for the time the queue needs, without using up an attempt.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone

from integrations.slack import messages
from integrations.slack.models import SlackPost
from integrations.slack.routing import Facts, route, rules_for
from integrations.slack.waiting import CHANNEL_WAITS, waits_for_channel
from mlconnector.contract import SyncResult
from mlconnector.http import ProviderError, RateLimited, Rejected, Waiting
from mlconnector.ratelimit import limiter

P = SlackPost.Status
RETRIES_IN_PLACE = 3


def channel_key(team_id: str, channel_id: str) -> str:
    return f"slack:{team_id or 'team'}:{channel_id}"


def push_back(team_id: str, channel_id: str, seconds: float) -> None:
    """Slack said wait: move the channel's whole schedule, so the queued posts resume one by one
    after the wait instead of all at once (which would earn another 429)."""
    limiter().reserve(channel_key(team_id, channel_id) + ":slot", seconds, 1e9)


def pace(team_id: str, channel_id: str, channel_name: str) -> None:
    """Wait for this channel's next slot, or raise RateLimited naming when to come back."""
    interval = settings.SLACK_CHANNEL_INTERVAL + settings.SLACK_PACING_MARGIN
    wait = limiter().reserve(channel_key(team_id, channel_id) + ":slot", interval, settings.SLACK_MAX_PACING_WAIT)
    if wait is None:
        raise RateLimited(
            f"#{channel_name} has a queue of messages; this one goes out later",
            code="paced",
            retry_after=settings.SLACK_MAX_PACING_WAIT / 2,
        )
    if wait > 0:
        time.sleep(wait)


def ensure_posts(conn, event, delivery) -> list[SlackPost]:
    """Create a post per routed channel; posts whose channel is no longer routed are skipped."""
    team_id = (conn.config or {}).get("team_id", "")
    routed = route(rules_for(conn.tenant_id, team_id), Facts.of(event))
    existing = {p.channel_id: p for p in SlackPost.objects.filter(delivery=delivery)}
    wanted = {rule.channel_id for rule in routed}
    stale = [p.pk for ch, p in existing.items() if ch not in wanted and p.status in (P.PENDING, P.FAILED, P.WAITING)]
    if stale:
        SlackPost.objects.filter(pk__in=stale).update(
            status=P.SKIPPED,
            last_error="no routing rule sends this event here any more",
            error_code="",
            updated_at=timezone.now(),
        )
    new = [
        SlackPost(
            tenant_id=conn.tenant_id,
            connection=conn,
            delivery=delivery,
            event=event,
            rule=rule,
            rule_name=rule.name[:120],
            event_type=event.event_type,
            channel_id=rule.channel_id,
            channel_name=rule.channel_name,
            invoice_number=(event.invoice_number or "")[:64],
            counterparty=(event.counterparty or "")[:200],
            source_payload=event.payload,
        )
        for rule in routed
        if rule.channel_id not in existing
    ]
    if new:
        SlackPost.objects.bulk_create(new, ignore_conflicts=True)
    # A post left "sending" was being sent by a worker that died: Slack may or may not have it.
    SlackPost.objects.filter(delivery=delivery, status=P.SENDING).update(
        status=P.UNCERTAIN,
        last_error="the worker stopped while posting; check the channel and post again if it is missing",
        updated_at=timezone.now(),
    )
    return list(SlackPost.objects.filter(delivery=delivery).order_by("id"))


def post_delivery(integration, event, delivery, audit) -> SyncResult:
    conn = integration.connection
    team_id = (conn.config or {}).get("team_id", "")
    posts = ensure_posts(conn, event, delivery)
    todo = [p for p in posts if p.status == P.PENDING]
    if not posts:
        return SyncResult(nothing_to_send=True, message="no routing rule matches")
    client = integration.client(audit)
    message = messages.build(event) if todo else None
    for post in todo:
        _post_one(client, team_id, post, message)
    return _outcome(SlackPost.objects.filter(delivery=delivery).order_by("id"))


def _post_one(client, team_id: str, post: SlackPost, message: dict) -> None:
    """Post one message in its channel's next slot. A 429 means Slack did not take it, so it is
    tried again here in the slot after the wait Slack named (up to RETRIES_IN_PLACE times), rather
    than going back through the pipeline."""
    for attempt in range(1, RETRIES_IN_PLACE + 1):
        pace(team_id, post.channel_id, post.channel_name)  # may defer the delivery (post stays pending)
        if not SlackPost.objects.filter(pk=post.pk, status=P.PENDING).update(
            status=P.SENDING, message=message, updated_at=timezone.now()
        ):
            return  # somebody else took it
        try:
            data = client.post_message(post.channel_id, message, paced=True)
        except ProviderError as exc:
            if isinstance(exc, RateLimited) and exc.status == 429:
                push_back(team_id, post.channel_id, exc.retry_after or 1.0)
                _set(post, P.PENDING, str(exc))
                if attempt < RETRIES_IN_PLACE:
                    continue
                raise
            if exc.maybe_sent:
                _set(post, P.UNCERTAIN, f"no answer from Slack, so it may have been posted: {exc}")
            elif exc.retryable or exc.needs_reconnect:
                _set(post, P.PENDING, str(exc))
                raise
            elif waits_for_channel(exc.code):
                _set(post, P.WAITING, CHANNEL_WAITS[exc.code], error_code=exc.code)
            else:
                _set(post, P.FAILED, f"{exc}")
            return
        ts = str((data or {}).get("ts") or "")
        post.ts = ts
        _set(post, P.POSTED, "", ts=ts, posted_at=timezone.now())
        return


def _set(post: SlackPost, status: str, error: str, **fields) -> None:
    SlackPost.objects.filter(pk=post.pk).update(
        status=status, last_error=error[:2000], updated_at=timezone.now(), **fields
    )
    post.status, post.last_error = status, error


def _outcome(posts) -> SyncResult:
    posts = list(posts)
    posted = [p for p in posts if p.status == P.POSTED]
    problems = [p for p in posts if p.status in (P.FAILED, P.UNCERTAIN)]
    waiting = [p for p in posts if p.status == P.WAITING]
    done = ", ".join(f"#{p.channel_name or p.channel_id}" for p in posted)
    said = f"posted to {done}. " if done else ""
    failed = "; ".join(f"#{p.channel_name or p.channel_id}: {p.last_error}" for p in problems)
    if any(p.status == P.PENDING for p in posts):
        # Reopened while this attempt ran (its channel came back): run again at once, no attempt used.
        raise RateLimited(said + "a post was reopened meanwhile; posting it next", code="reopened", retry_after=1.0)
    if waiting:
        # Something will still happen by itself: the delivery waits (a failed post shows on the posts page).
        waits = "; ".join(f"#{p.channel_name or p.channel_id}: {p.last_error}" for p in waiting)
        also = f" Not posted — {failed}" if problems else ""
        raise Waiting(f"{said}Waiting for the channel — {waits}.{also}", code=waiting[0].error_code)
    if problems:
        raise Rejected(said + f"Not posted — {failed}", code="slack_post_failed")
    if not posted:
        return SyncResult(nothing_to_send=True, message="no routing rule sends this event anywhere now")
    remote = ",".join(f"{p.channel_id}:{p.ts}" for p in posted)
    return SyncResult(remote_id=remote[:128], message=f"posted to {done}")


def prepare_replay(delivery, *, resend: bool) -> None:
    """A replay retries failed posts; 'send again' also re-posts what was posted or uncertain."""
    statuses = [P.FAILED, P.SKIPPED, P.WAITING] + ([P.POSTED, P.UNCERTAIN] if resend else [])
    SlackPost.objects.filter(delivery=delivery, status__in=statuses).update(
        status=P.PENDING, last_error="", error_code="", updated_at=timezone.now()
    )
