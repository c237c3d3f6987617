"""The one state machine for work the database owns: stored events (enrich and fan out), deliveries
(write to a target) and connection jobs (periodic work of one connection).

    due ──claim──► running ──finish──► done | retrying (backoff) | waiting (reconnect) | failed
     ▲                │
     └──recover───────┘  (its lease expired or its worker died: counted, failed after too many deaths)

- claim: one conditional UPDATE takes a due row, counts the attempt and writes a lease (owner and
  until, see node.py); a second copy of the same task finds nothing to take.
- finish: an UPDATE fenced on (running, attempts), so only the attempt that still owns the row can
  write its outcome; a late finish after a recovery changes nothing.
- retry_or_fail: permanent errors and the retry horizon fail; a provider that names the time to
  come back (Retry-After) is deferred without using an attempt; the rest back off with jitter.
- wait: the connection needs a person (reconnect, resume); the attempt is not counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

from mlconnector.http import ProviderError, RateLimited
from mlconnector.pipeline import node
from mlconnector.pipeline.backoff import gives_up, retry_delay

BATCH = 200


@dataclass(frozen=True)
class Decision:
    outcome: str  # "failed", "retrying" or "deferred"
    delay: float = 0.0


@dataclass(frozen=True)
class Lifecycle:
    model: type[Model]
    due: tuple[str, ...]
    running: str
    retrying: str
    failed: str
    waiting: str = ""
    # The field retries are counted from (the retry horizon).
    since_field: str = "first_attempt_at"
    # Audit references of a row: {"event": ..., "delivery": ...} for record().
    refs: Callable[[Any], dict] = lambda row: {}

    # --- claim and finish ----------------------------------------------------------------------
    def claim(self, pk: int, now: datetime | None = None, **extra) -> bool:
        """Take a due row for this attempt; False when it is not due or another worker has it."""
        now = now or timezone.now()
        return bool(
            self.model.objects.filter(
                pk=pk, status__in=self.due, next_attempt_at__lte=now + timedelta(seconds=1)
            ).update(
                status=self.running,
                attempts=F("attempts") + 1,
                lease_until=now + node.lease(),
                lease_owner=node.owner(),
                dispatched_at=None,
                **extra,
            )
        )

    def finish(self, row, **fields) -> bool:
        """Write the outcome only if this attempt still owns the row."""
        if _has_field(self.model, "updated_at"):
            fields.setdefault("updated_at", timezone.now())
        fields.setdefault("lease_until", None)
        fields.setdefault("lease_owner", "")
        updated = self.model.objects.filter(pk=row.pk, status=self.running, attempts=row.attempts).update(**fields)
        for key, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(row, key, value)
        return bool(updated)

    def wait(self, row, reason: str) -> None:
        """Park the row until a person fixes the connection; waiting does not use up an attempt."""
        self.finish(row, status=self.waiting, attempts=F("attempts") - 1, last_error=reason)
        row.attempts -= 1

    def retry_or_fail(self, row, exc: ProviderError, now: datetime | None = None) -> Decision:
        now = now or timezone.now()
        if not exc.retryable or gives_up(getattr(row, self.since_field), row.attempts, now):
            self.finish(row, status=self.failed, last_error=str(exc))
            return Decision("failed")
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            # The provider (or our own pacing) named the time to come back: no backoff, no attempt
            # used. The horizon still applies, so a provider that never stops refusing ends "failed".
            self.finish(
                row,
                status=self.retrying,
                next_attempt_at=now + timedelta(seconds=exc.retry_after),
                attempts=F("attempts") - 1,
                last_error=str(exc),
            )
            row.attempts -= 1
            return Decision("deferred", exc.retry_after)
        delay = retry_delay(row.attempts, exc.retry_after)
        self.finish(row, status=self.retrying, next_attempt_at=now + timedelta(seconds=delay), last_error=str(exc))
        return Decision("retrying", delay)

    # --- recovery ------------------------------------------------------------------------------
    def abandoned(self, now: datetime) -> QuerySet:
        """Running rows whose lease expired: nobody renewed it, so their worker is gone."""
        return self.model.objects.filter(status=self.running, lease_until__lt=now)

    def held_by(self, owners: list[str]) -> QuerySet:
        return self.model.objects.filter(status=self.running, lease_owner__in=owners)

    def recover(self, rows: QuerySet, now: datetime, *, died: bool, reason: str = "") -> list:
        """Hand running rows back for another attempt. `died`: their worker died (counted, and
        failed for good after MLCONNECTOR_MAX_WORKER_DEATHS, so a poison task cannot kill workers
        forever); otherwise they were interrupted on purpose (a stop, a restart) and not counted.
        Returns [(row, gave_up, message)] for the rows recovered, for the caller's audit trail."""
        limit = settings.MLCONNECTOR_MAX_WORKER_DEATHS
        recovered = []
        for row in rows.order_by("pk")[:BATCH]:
            deaths = row.worker_deaths + (1 if died else 0)
            give_up = died and deaths >= limit
            if give_up:
                message = (
                    f"the worker died during {deaths} attempts; not retried automatically "
                    "(replay it once the cause is fixed)"
                )
            elif died:
                message = reason or f"the worker died during attempt {row.attempts}; retrying"
            else:
                message = reason or f"attempt {row.attempts} was interrupted; retrying"
            fields = dict(
                status=self.failed if give_up else self.retrying,
                lease_until=None,
                lease_owner="",
                next_attempt_at=now,
                dispatched_at=None,
                last_error=message,
            )
            if died:
                fields["worker_deaths"] = F("worker_deaths") + 1
            else:
                fields["attempts"] = F("attempts") - 1  # an interruption does not use up an attempt
            fenced = self.model.objects.filter(pk=row.pk, status=self.running, attempts=row.attempts)
            if fenced.update(**fields):
                recovered.append((row, give_up, message))
        return recovered


def _has_field(model: type[Model], name: str) -> bool:
    return any(f.name == name for f in model._meta.concrete_fields)


def due_or_stale(model, statuses, now: datetime, stale_after: timedelta) -> QuerySet:
    """Rows that are due and not handed out, or handed out so long ago the task must be lost."""
    return model.objects.filter(status__in=statuses, next_attempt_at__lte=now).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - stale_after)
    )


# --- the three kinds of work ----------------------------------------------------------------------


def _lifecycles():
    from mlconnector.pipeline.models import Backfill, ConnectionJob, Delivery
    from mlconnector.webhooks.models import InboundEvent

    E, D, J = InboundEvent.Status, Delivery.Status, ConnectionJob.Status
    events = Lifecycle(
        InboundEvent,
        due=(E.RECEIVED, E.RETRYING),
        running=E.PROCESSING,
        retrying=E.RETRYING,
        failed=E.FAILED,
        waiting=E.WAITING,
        since_field="received_at",
        refs=lambda e: {"event": e, "connection": e.connection, "tenant": e.tenant},
    )
    deliveries = Lifecycle(
        Delivery,
        due=(D.PENDING, D.RETRYING),
        running=D.RUNNING,
        retrying=D.RETRYING,
        failed=D.FAILED,
        waiting=D.WAITING,
        refs=lambda d: {"event": d.event, "delivery": d, "connection": d.connection, "tenant": d.tenant},
    )
    # A job never fails for good: a run that goes wrong is tried again later, then on schedule.
    jobs = Lifecycle(
        ConnectionJob,
        due=(J.IDLE, J.RETRYING),
        running=J.RUNNING,
        retrying=J.RETRYING,
        failed=J.IDLE,
        refs=lambda j: {"connection": j.connection, "tenant": j.tenant},
    )
    BF = Backfill.Status
    backfills = Lifecycle(
        Backfill,
        due=(BF.PENDING, BF.RETRYING),
        running=BF.RUNNING,
        retrying=BF.RETRYING,
        failed=BF.FAILED,
        since_field="progress_at",
        refs=lambda b: {"connection": b.target, "tenant": b.tenant},
    )
    return events, deliveries, jobs, backfills


EVENTS, DELIVERIES, JOBS, BACKFILLS = _lifecycles()
