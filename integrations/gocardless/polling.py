"""The webhooks' fallback, per connection: `/events` read with cursors, and a daily `/payouts` check.

GoCardless retries a failed webhook only 8 times (vendors doc §2.6), and a connection whose
endpoint secret is not set yet receives none. Every few minutes (GOCARDLESS_EVENTS_POLL_MINUTES)
each connection lists the events created since the newest one it has seen (minus an overlap),
following `after` cursors to the end, and stores each under its event id: an event a webhook
already brought is not stored again (the same once-for-ever key), so polling costs one list call
when nothing was missed. Payouts are read once a day the same way and fed as `payouts.paid`. Both
start from when the connection was made: older payments and payouts are never posted or flagged.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from integrations.gocardless.signatures import event_key, parse_event
from mlconnector.contract import ONCE_PREFIX
from mlconnector.http import AuditContext
from mlconnector.pipeline.models import PollCursor
from mlconnector.webhooks.models import InboundEvent

OVERLAP = timedelta(minutes=10)


def poll_events(conn, audit: AuditContext) -> str:
    client = conn.integration.client(audit)
    cursor, _ = PollCursor.objects.get_or_create(connection=conn, resource="events")
    # From when the connection was made: what happened before is not ours to post or flag.
    since = (cursor.since or conn.created_at) - OVERLAP
    newest = cursor.since
    parsed = []
    for event in client.iterate("events", {"created_at[gt]": _iso(since)}):
        parsed.append(parse_event(conn.pk, event))
        made = _time(event.get("created_at"))
        if made is not None and (newest is None or made > newest):
            newest = made
    stored = _store(conn, [(p.event_type, p.object_id, p.account_id, p.dedupe_key, p.raw) for p in parsed])
    PollCursor.objects.filter(pk=cursor.pk).update(since=newest, last_run_at=timezone.now())
    return f"found {stored} event(s) the webhooks had not brought" if stored else ""


def poll_payouts(conn, audit: AuditContext) -> str:
    client = conn.integration.client(audit)
    cursor, _ = PollCursor.objects.get_or_create(connection=conn, resource="payouts")
    since = (cursor.since - timedelta(days=2)) if cursor.since else conn.created_at
    started = timezone.now()
    rows = []
    for payout in client.iterate("payouts", {"created_at[gt]": _iso(since), "status": "paid"}):
        if payout.get("status") != "paid":
            continue
        key = event_key(conn.pk, f"payout-poll:{payout['id']}")
        rows.append(("payouts.paid", payout["id"], "", key, json.dumps(payout, sort_keys=True).encode()))
    stored = _store(conn, rows)
    PollCursor.objects.filter(pk=cursor.pk).update(since=started, last_run_at=timezone.now())
    return f"found {stored} payout(s) to check" if stored else ""


def _store(conn, rows: list[tuple[str, str, str, str, bytes]]) -> int:
    """Insert what is not there yet (by its once-for-ever key); returns how many were new."""
    keys = [r[3] for r in rows]
    assert all(k.startswith(ONCE_PREFIX) for k in keys)
    known = set(InboundEvent.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    now = timezone.now()
    fresh = [
        InboundEvent(
            tenant_id=conn.tenant_id,
            connection=conn,
            provider=conn.provider,
            source=InboundEvent.Source.POLL,
            event_type=event_type[:64],
            object_id=object_id[:64],
            account_id=account_id[:64],
            dedupe_key=key,
            raw_body=raw,
            headers={},
            next_attempt_at=now,
            received_at=now,
        )
        for event_type, object_id, account_id, key, raw in rows
        if key not in known
    ]
    InboundEvent.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
