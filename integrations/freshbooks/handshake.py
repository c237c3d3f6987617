"""The callback.verify handshake: keeping the codes FreshBooks (or anyone) POSTs, offering them
back to FreshBooks, and asking FreshBooks to resend a code while a callback stays unverified.

Anyone who knows a connection's webhook URI can POST name=callback.verify, so:
- receive_code (the ack path: cheap DB work, never a network call) keeps a code only for a callback
  ensure_callbacks registered that still waits for verification, in one of at most
  FreshBooksVerifierCandidate.SLOTS encrypted slots, at most FRESHBOOKS_HANDSHAKES_PER_MINUTE per
  endpoint; anything else gets its 200 with nothing stored and nothing sent;
- confirm_callback (a worker) PUTs every waiting code until FreshBooks accepts one: only that one
  becomes the signing key, and a forged code can't displace the genuine one;
- resend_due (periodic) asks FreshBooks for a new code with backoff; codes FreshBooks refused make
  a resend due as soon as the backoff allows. A new code replaces the old one at FreshBooks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from integrations.freshbooks.models import FreshBooksCallback, FreshBooksVerifierCandidate
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, NotFound, ProviderError, Rejected
from mlconnector.webhooks import endpoints

log = logging.getLogger("integrations.freshbooks")
PROVIDER = "freshbooks"
# The task keeps its historic dotted path (callbacks re-exports it): tasks queued before still run.
CONFIRM_TASK = "integrations.freshbooks.callbacks.confirm_callback"

# Asking FreshBooks to resend a code: the first request 1 min after registering, then 5 min and
# 30 min after the previous one, then every 3 hours for as long as the callback stays unverified.
# Growing gaps matter: a resend replaces the code (an older one still on its way is then refused),
# and delivery can lag minutes, so a fixed short interval could keep invalidating the code in flight.
RESEND_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
RESEND_EVERY = timedelta(hours=3)
# How long codes for callback ids we don't know yet may be parked while ensure_callbacks registers.
REGISTERING_SECONDS = 300
# One worker at a time offers codes to FreshBooks or asks for a new one, per callback.
LOCK_SECONDS = 300
HANDSHAKES_PER_MINUTE_DEFAULT = 30
MAX_VERIFIER_LENGTH = 512
NOTHING_DUE = "no handshake due"


def resend_delay(resends_so_far: int) -> timedelta:
    """How long after the previous request (or the registration) the next resend is due."""
    return RESEND_DELAYS[resends_so_far] if resends_so_far < len(RESEND_DELAYS) else RESEND_EVERY


# --- the ack path: a callback.verify POST ------------------------------------------------------


def receive_code(connection_id: int, tenant_id: int, callback_id: str, verifier: str) -> str:
    """Keep a handshake's code for confirm_callback, if it is for a callback of ours that waits.

    Returns what happened, for the caller's answer and the tests: "stored", "parked" (registration
    under way), "unknown", "verified" (nothing to do), "full" (newest refused) or "rate limited".
    Nothing is written unless the code is kept, and nothing is sent anywhere from here.
    """
    if not callback_id.isdigit() or len(callback_id) > 32 or len(verifier) > MAX_VERIFIER_LENGTH:
        _quietly(connection_id, "malformed", "callback.verify that no FreshBooks callback could send")
        return "unknown"
    row = (
        FreshBooksCallback.objects.filter(connection_id=connection_id, callback_id=callback_id)
        .values_list("pk", "verified")
        .first()
    )
    if row is None and not cache.get(registering_key(connection_id)):
        _quietly(connection_id, "unknown", "callback.verify for a callback id we did not register")
        return "unknown"
    if row is not None and row[1]:
        _quietly(connection_id, "verified", "callback.verify for a callback that is already verified")
        return "verified"
    if not _within_handshake_budget(connection_id):
        _quietly(connection_id, "rate", "callback.verify over FRESHBOOKS_HANDSHAKES_PER_MINUTE: refused")
        return "rate limited"
    if not _keep(connection_id, tenant_id, callback_id, verifier):
        # Newest refused, never oldest dropped: a code already kept is always tried, so later
        # forgeries can't push out a genuine one. Every kept code has its confirm task queued,
        # which frees the slots; if all were forged, their refusal makes a resend due.
        _quietly(connection_id, "full", "callback.verify refused: codes already wait in every slot")
        return "full"
    if row is None:
        return "parked"
    async_task(CONFIRM_TASK, row[0], task_name=f"fb-verify-{row[0]}")
    return "stored"


def _keep(connection_id: int, tenant_id: int, callback_id: str, verifier: str) -> bool:
    used = set(
        FreshBooksVerifierCandidate.objects.filter(connection_id=connection_id, callback_id=callback_id).values_list(
            "slot", flat=True
        )
    )
    for slot in range(FreshBooksVerifierCandidate.SLOTS):
        if slot in used:
            continue
        try:
            with transaction.atomic():
                FreshBooksVerifierCandidate.objects.create(
                    tenant_id=tenant_id,
                    connection_id=connection_id,
                    callback_id=callback_id,
                    slot=slot,
                    verifier=verifier,
                )
            return True
        except IntegrityError:  # taken a moment ago by a handshake arriving at the same time
            continue
    return False


def _within_handshake_budget(connection_id: int) -> bool:
    """At most FRESHBOOKS_HANDSHAKES_PER_MINUTE kept codes per endpoint per minute (each costs
    FreshBooks calls in the worker); shared by every web process through the cache."""
    limit = int(getattr(settings, "FRESHBOOKS_HANDSHAKES_PER_MINUTE", HANDSHAKES_PER_MINUTE_DEFAULT))
    key = f"mlc:fb:handshakes:{connection_id}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        return True
    return count <= limit


_quiet_lock = threading.Lock()
_quiet_until: dict[tuple[int, str], float] = {}


def _quietly(connection_id: int, reason: str, message: str) -> None:
    """One log line per endpoint and reason per minute, kept in process memory: anyone can POST
    forged handshakes, and dropping them must cost no write and no flood of lines."""
    now = time.monotonic()
    with _quiet_lock:
        if _quiet_until.get((connection_id, reason), 0.0) > now:
            return
        if len(_quiet_until) > 10_000:
            _quiet_until.clear()
        _quiet_until[(connection_id, reason)] = now + 60
    log.warning("freshbooks connection %s: %s (further ones this minute are not logged)", connection_id, message)


def registering_key(connection_id: int) -> str:
    return f"mlc:fb:registering:{connection_id}"


def drop_parked(connection_id: int, older_than: datetime | None = None) -> None:
    """Forget codes parked for callback ids that turned out not to be ours."""
    ours = FreshBooksCallback.objects.filter(connection_id=connection_id).values("callback_id")
    parked = FreshBooksVerifierCandidate.objects.filter(connection_id=connection_id).exclude(callback_id__in=ours)
    if older_than is not None:
        parked = parked.filter(received_at__lt=older_than)
    parked.delete()


def candidates_of(row: FreshBooksCallback):
    return FreshBooksVerifierCandidate.objects.filter(connection_id=row.connection_id, callback_id=row.callback_id)


# --- the worker: offering codes, asking for new ones --------------------------------------------


def confirm_callback(callback_pk: int) -> str:
    """Offer each waiting code to FreshBooks until it accepts one; if it refused them all, ask for
    a new code as soon as the backoff allows."""
    return _locked(callback_pk, _settle)


def resend_due(connection_id: int) -> str:
    """For one connection: try codes still waiting, and ask FreshBooks to resend the code of each
    unverified callback whose next_resend_at has come. Called by a periodic job."""
    conn = Connection.objects.filter(pk=connection_id, provider=PROVIDER, status=Connection.Status.ACTIVE).first()
    if conn is None or not conn.config.get("account_id"):
        return "not active"
    now = timezone.now()
    drop_parked(conn.pk, older_than=now - timedelta(seconds=REGISTERING_SECONDS))
    waiting = set(FreshBooksVerifierCandidate.objects.filter(connection=conn).values_list("callback_id", flat=True))
    due = [
        row.pk
        for row in FreshBooksCallback.objects.filter(connection=conn, verified=False)
        if row.callback_id in waiting or row.next_resend_at is None or row.next_resend_at <= now
    ]
    if not due:
        return NOTHING_DUE
    outcomes = Counter(_locked(pk, _settle) for pk in due)
    return "handshakes: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))


def _locked(callback_pk: int, work: Callable[[int], str]) -> str:
    key = f"mlc:fb:callback-lock:{callback_pk}"
    outcome = "busy"
    for _ in range(FreshBooksVerifierCandidate.SLOTS + 1):
        if not cache.add(key, 1, timeout=LOCK_SECONDS):
            return outcome  # the holder looks for new codes again once it has let go
        try:
            outcome = work(callback_pk)
        finally:
            cache.delete(key)
        # A code kept while we held the lock had its own task turned away ("busy"): it was stored
        # before that task looked, so it is visible now. Not after "failed": FreshBooks is down.
        if outcome == "failed" or not _untried_code_waits(callback_pk):
            return outcome
    return outcome


def _untried_code_waits(callback_pk: int) -> bool:
    row = FreshBooksCallback.objects.filter(pk=callback_pk, verified=False).first()
    return row is not None and candidates_of(row).exists()


def _settle(callback_pk: int) -> str:
    from integrations.freshbooks.client import FreshBooksClient

    row = FreshBooksCallback.objects.select_related("connection", "tenant").filter(pk=callback_pk).first()
    if row is None:
        return "gone"
    if row.verified:
        candidates_of(row).delete()
        return "already verified"
    conn = row.connection
    if conn.status == Connection.Status.DISCONNECTED or not conn.config.get("account_id"):
        return "not active"
    client = FreshBooksClient(conn, audit=AuditContext(tenant=row.tenant, connection=conn))
    outcome = _offer_codes(row, client)
    if outcome in ("verified", "failed", "gone"):
        return outcome
    row.refresh_from_db()
    if conn.status != Connection.Status.ACTIVE or row.verified:
        return outcome
    if row.next_resend_at is not None and row.next_resend_at > timezone.now():
        return outcome  # not sooner than the backoff: a new code would replace one still on its way
    resent = _resend(row, client)
    if resent != "resent":
        return resent
    # FreshBooks may deliver the new code before its answer reaches us; try it while we hold the lock.
    again = _offer_codes(row, client)
    return again if again in ("verified", "failed", "gone") else "resent"


def _offer_codes(row: FreshBooksCallback, client) -> str:
    """PUT each waiting code, oldest first; the first FreshBooks accepts becomes the verifier.
    FreshBooks answers 422 to a wrong code (the sandbox does too)."""
    account = row.connection.config["account_id"]
    tried: set[int] = set()
    refused = 0
    while True:
        candidate = candidates_of(row).exclude(pk__in=tried).order_by("received_at", "pk").first()
        if candidate is None:
            break
        tried.add(candidate.pk)
        try:
            result = client.verify_callback(account, row.callback_id, candidate.verifier)
        except NotFound:
            _forget_callback(row)
            return "gone"
        except Rejected:
            candidate.delete()
            refused += 1
            continue
        except ProviderError as exc:  # unavailable, rate limited, signed out: try again later
            record(
                AuditRecord.Kind.HANDSHAKE,
                connection=row.connection,
                outcome=AuditRecord.Outcome.ERROR,
                message=f"could not offer the code for webhook callback {row.callback_id} to FreshBooks: {exc}",
            )
            return "failed"
        if result.get("verified") is False:
            candidate.delete()
            refused += 1
            continue
        _accept(row, candidate.verifier, result)
        return "verified"
    if refused:
        _note_refused(row, refused)
        return "refused"
    return "nothing waiting"


def _accept(row: FreshBooksCallback, verifier: str, result: dict) -> None:
    event = result.get("event") or row.event
    changed = FreshBooksCallback.objects.filter(pk=row.pk, verified=False).update(
        verifier=verifier, verified=True, verified_at=timezone.now(), event=event, next_resend_at=None
    )
    candidates_of(row).delete()  # the others were forged, or replaced by the one accepted
    endpoints.forget(PROVIDER, row.connection.endpoint_key)
    if changed:
        record(
            AuditRecord.Kind.HANDSHAKE,
            connection=row.connection,
            outcome=AuditRecord.Outcome.OK,
            message=f"webhook callback {row.callback_id} ({event}) verified",
        )


def _note_refused(row: FreshBooksCallback, refused: int) -> None:
    # At most one row per callback per minute: forged codes must not push the connection's history
    # off its page (each PUT already has its own call record).
    if not cache.add(f"mlc:fb:refused-noted:{row.pk}", 1, timeout=60):
        return
    codes = "code" if refused == 1 else "codes"
    record(
        AuditRecord.Kind.HANDSHAKE,
        connection=row.connection,
        outcome=AuditRecord.Outcome.REJECTED,
        message=f"FreshBooks refused {refused} {codes} offered for webhook callback {row.callback_id} "
        "(forged, or replaced by a newer code)",
    )


def _resend(row: FreshBooksCallback, client) -> str:
    now = timezone.now()
    try:
        client.resend_verification(row.connection.config["account_id"], row.callback_id)
    except NotFound:
        _forget_callback(row)
        return "gone"
    except ProviderError as exc:
        # Only requests FreshBooks took are counted; this one is tried again after the same gap.
        FreshBooksCallback.objects.filter(pk=row.pk).update(next_resend_at=now + resend_delay(row.resend_count))
        record(
            AuditRecord.Kind.HANDSHAKE,
            connection=row.connection,
            outcome=AuditRecord.Outcome.ERROR,
            message=f"could not ask FreshBooks to resend the code for webhook callback {row.callback_id}: {exc}",
        )
        return "failed"
    count = row.resend_count + 1
    FreshBooksCallback.objects.filter(pk=row.pk).update(
        resend_count=count, last_resend_at=now, next_resend_at=now + resend_delay(count)
    )
    if count > len(RESEND_DELAYS):
        # Past the quick steps, one request every few hours: the connection page's status line
        # counts them, and a row each would push the rest of the connection's history off its page.
        return "resent"
    record(
        AuditRecord.Kind.HANDSHAKE,
        connection=row.connection,
        outcome=AuditRecord.Outcome.WAITING,
        message=f"asked FreshBooks to resend the code for webhook callback {row.callback_id} ({row.event or '?'})",
    )
    return "resent"


def _forget_callback(row: FreshBooksCallback) -> None:
    """FreshBooks no longer has this callback (deleted there): stop asking about it."""
    candidates_of(row).delete()
    FreshBooksCallback.objects.filter(pk=row.pk).delete()
    endpoints.forget(PROVIDER, row.connection.endpoint_key)
    record(
        AuditRecord.Kind.CONNECTION,
        connection=row.connection,
        outcome=AuditRecord.Outcome.ERROR,
        message=f"FreshBooks no longer has webhook callback {row.callback_id} ({row.event or '?'}); "
        "it is registered again when the connection is next set up",
    )
