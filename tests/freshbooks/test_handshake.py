"""The callback.verify handshake against forgeries: only callbacks we registered are verified,
competing codes are all tried, an unverified callback asks FreshBooks to resend its code with
backoff, handshakes are rate-limited per endpoint, and the connection page says where each stands.

The fake FreshBooks' verification POSTs are held back (`codes`) and the receiver's confirm tasks
queued (`worker`), so each test decides what arrives, in which order, and when the worker runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from integrations.freshbooks import handshake
from integrations.freshbooks.callbacks import confirm_callback, ensure_callbacks, resend_due
from integrations.freshbooks.models import FreshBooksCallback, FreshBooksVerifierCandidate
from integrations.sandbox import delivery
from integrations.sandbox.models import SandboxObject
from mlconnector.audit.models import AuditRecord
from tests.core.test_secrets import assert_nowhere, log_position
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import VERIFIER, connection_with_callbacks, sandbox_source

pytestmark = pytest.mark.django_db

FORGED = "attacker-chosen-verifier-0001"


@pytest.fixture
def codes(monkeypatch) -> list[tuple[str, str]]:
    """(url, body) of each callback.verify the fake FreshBooks sends, held back instead of delivered."""
    held: list[tuple[str, str]] = []
    monkeypatch.setattr(delivery, "send_later", lambda url, body, headers: held.append((url, body)))
    return held


@pytest.fixture
def worker(monkeypatch) -> list[int]:
    """confirm_callback tasks the receiver queues, run only by run_worker()."""
    queued: list[int] = []
    monkeypatch.setattr(handshake, "async_task", lambda func, pk, **kwargs: queued.append(pk))
    return queued


def run_worker(queued: list[int]) -> list[str]:
    outcomes = [confirm_callback(pk) for pk in queued]
    queued.clear()
    return outcomes


@pytest.fixture
def pending(tenant_a, settings, codes):
    """A sandbox-backed connection with one callback registered and waiting for its handshake."""
    settings.FRESHBOOKS_WEBHOOK_EVENTS = ["invoice.create"]
    conn = sandbox_source(tenant_a)
    assert ensure_callbacks(conn.pk) == "registered 1"
    row = FreshBooksCallback.objects.get(connection=conn)
    assert not row.verified and len(codes) == 1
    return conn, row


def genuine_code(codes, row) -> str:
    sent = [dict(parse_qsl(body)) for _, body in codes]
    return [fields["verifier"] for fields in sent if fields["object_id"] == row.callback_id][-1]


def deliver(codes, index: int = -1):
    """Deliver a held verification POST to our receiver, byte for byte."""
    url, body = codes[index]
    return Client().post(urlsplit(url).path, data=body.encode(), content_type="application/x-www-form-urlencoded")


def post_verify(conn, callback_id: str, verifier: str):
    fields = {"name": "callback.verify", "object_id": callback_id, "verifier": verifier, "account_id": "DEMO01"}
    body = urlencode(fields)
    return Client().post(
        f"/hooks/freshbooks/{conn.endpoint_key}/", data=body.encode(), content_type="application/x-www-form-urlencoded"
    )


def outbound_calls() -> int:
    return AuditRecord.objects.filter(kind=AuditRecord.Kind.HTTP).count()


def remote(row) -> dict:
    return SandboxObject.objects.get(kind="callback", object_id=row.callback_id).data


def make_due(row) -> None:
    """As if the backoff's wait had passed."""
    FreshBooksCallback.objects.filter(pk=row.pk).update(next_resend_at=timezone.now() - timedelta(seconds=1))


# --- callbacks we did not register, or that are verified already ---------------------------------


def test_it_answers_forged_handshakes_for_unknown_callbacks_with_200_and_stores_and_sends_nothing():
    conn = connection_with_callbacks()
    rows_before, audit_before = FreshBooksCallback.objects.count(), AuditRecord.objects.count()
    for forged_id in ("123", "124", "125"):
        response = post_verify(conn, forged_id, FORGED)
        assert response.status_code == 200
    assert FreshBooksCallback.objects.count() == rows_before
    assert not FreshBooksCallback.objects.filter(callback_id__in=["123", "124", "125"]).exists()
    assert not FreshBooksVerifierCandidate.objects.exists()
    assert outbound_calls() == 0
    assert AuditRecord.objects.count() == audit_before  # not even a rejected-webhook row per forgery


def test_it_changes_nothing_for_a_handshake_on_a_verified_callback():
    conn = connection_with_callbacks()
    cb = FreshBooksCallback.objects.filter(connection=conn).first()
    audit_before = AuditRecord.objects.count()
    assert post_verify(conn, cb.callback_id, FORGED).status_code == 200
    cb.refresh_from_db()
    assert cb.verified and cb.verifier == VERIFIER
    assert not FreshBooksVerifierCandidate.objects.exists()
    assert outbound_calls() == 0 and AuditRecord.objects.count() == audit_before


def test_it_parks_a_code_that_arrives_while_registering_and_drops_it_when_the_id_is_not_ours(
    tenant_a, settings, monkeypatch
):
    """FreshBooks may POST the handshake before it answers the create call: the genuine code is
    claimed once the callback row exists; a forged one for another id is dropped, never tried."""
    settings.FRESHBOOKS_WEBHOOK_EVENTS = ["invoice.create"]
    conn = sandbox_source(tenant_a)

    def forged_then_genuine(url, body, headers):
        post_verify(conn, "987654", FORGED)  # arrives inside the registration window
        delivery.send_now(url, body, headers)

    monkeypatch.setattr(delivery, "send_later", forged_then_genuine)
    ensure_callbacks(conn.pk)

    row = FreshBooksCallback.objects.get(connection=conn)
    assert row.verified and remote(row)["verified"] is True
    assert list(FreshBooksCallback.objects.filter(connection=conn).values_list("callback_id", flat=True)) == [
        row.callback_id
    ]
    assert not FreshBooksVerifierCandidate.objects.exists()
    assert not any("987654" in r.url for r in AuditRecord.objects.filter(kind=AuditRecord.Kind.HTTP))
    # Once registration is over, the same forgery is not even parked.
    assert post_verify(conn, "987654", FORGED).status_code == 200
    assert not FreshBooksVerifierCandidate.objects.exists()


# --- competing codes for a callback that waits ---------------------------------------------------


def test_it_verifies_with_the_genuine_code_when_a_forged_one_arrived_first(pending, codes, worker):
    conn, row = pending
    log_start = log_position()
    assert post_verify(conn, row.callback_id, FORGED).status_code == 200
    assert deliver(codes).status_code == 200  # the genuine one, before the worker ran
    assert FreshBooksVerifierCandidate.objects.filter(callback_id=row.callback_id).count() == 2

    assert set(run_worker(worker)) <= {"verified", "already verified"}
    row.refresh_from_db()
    genuine = genuine_code(codes, row)
    assert row.verified and row.verifier == genuine
    assert remote(row)["verified"] is True
    assert not FreshBooksVerifierCandidate.objects.exists()  # the forged one is discarded
    assert_nowhere({FORGED}, log_start)  # tried, refused, and stored nowhere (genuine: encrypted only)


def test_it_verifies_with_the_genuine_code_when_a_forged_one_arrived_after_it(pending, codes, worker):
    conn, row = pending
    calls_before = outbound_calls()
    assert deliver(codes).status_code == 200
    assert post_verify(conn, row.callback_id, FORGED).status_code == 200  # would have overwritten it

    run_worker(worker)
    row.refresh_from_db()
    assert row.verified and row.verifier == genuine_code(codes, row)
    assert remote(row)["verified"] is True
    # Oldest first: the genuine code was accepted and the forged one never sent.
    assert outbound_calls() == calls_before + 1
    assert not FreshBooksVerifierCandidate.objects.exists()


def test_it_tries_a_code_that_arrived_while_another_worker_held_the_callback(pending, codes, monkeypatch):
    """Tasks run inline here: the genuine code's own task finds the callback busy and gives up, so
    the worker holding it must look again before it lets go."""
    conn, row = pending
    real_offer, arrived = handshake._offer_codes, []

    def genuine_arrives_meanwhile(callback, client):
        outcome = real_offer(callback, client)
        if not arrived:
            arrived.append(deliver(codes).status_code)
        return outcome

    monkeypatch.setattr(handshake, "_offer_codes", genuine_arrives_meanwhile)
    assert post_verify(conn, row.callback_id, FORGED).status_code == 200
    assert arrived == [200]
    row.refresh_from_db()
    assert row.verified and row.verifier == genuine_code(codes, row) and remote(row)["verified"] is True


def test_it_keeps_at_most_five_codes_per_callback_and_refuses_the_newest(pending, codes, worker):
    conn, row = pending
    for n in range(5):
        assert post_verify(conn, row.callback_id, f"{FORGED}-{n}").status_code == 200
    assert deliver(codes).status_code == 200  # the sixth: refused, nothing stored
    assert FreshBooksVerifierCandidate.objects.filter(callback_id=row.callback_id).count() == 5
    genuine = genuine_code(codes, row)
    assert not [c for c in FreshBooksVerifierCandidate.objects.all() if c.verifier == genuine]

    # All five refused; the backoff's first step has passed, so FreshBooks is asked for a new code.
    make_due(row)
    run_worker(worker)
    row.refresh_from_db()
    assert not row.verified and row.resend_count == 1 and len(codes) == 2
    assert not FreshBooksVerifierCandidate.objects.exists()
    deliver(codes)
    run_worker(worker)
    row.refresh_from_db()
    assert row.verified and row.verifier == genuine_code(codes, row) and remote(row)["verified"] is True


def test_it_asks_for_a_new_code_when_every_code_is_refused_and_the_new_code_verifies(pending, codes, worker):
    conn, row = pending
    lost = genuine_code(codes, row)  # never delivered: the first handshake was lost

    # Refused within the backoff's first minute: no resend yet (a new code would replace one that
    # may still be on its way).
    post_verify(conn, row.callback_id, FORGED)
    assert run_worker(worker) == ["refused"]
    row.refresh_from_db()
    assert row.resend_count == 0 and len(codes) == 1

    make_due(row)
    post_verify(conn, row.callback_id, FORGED + "-again")
    assert run_worker(worker) == ["resent"]
    row.refresh_from_db()
    assert row.resend_count == 1 and len(codes) == 2
    assert row.next_resend_at - row.last_resend_at == timedelta(minutes=5)
    new = genuine_code(codes, row)
    assert new != lost

    # The old code is now refused by FreshBooks too ("A new verifier replaces the old one"), and
    # that refusal does not ask again before the backoff allows.
    post_verify(conn, row.callback_id, lost)
    assert run_worker(worker) == ["refused"]
    row.refresh_from_db()
    assert row.resend_count == 1 and len(codes) == 2

    deliver(codes)
    assert run_worker(worker) == ["verified"]
    row.refresh_from_db()
    assert row.verified and row.verifier == new and row.next_resend_at is None
    assert remote(row)["verified"] is True


def test_it_resends_the_code_of_an_unverified_callback_with_backoff(pending, codes):
    conn, row = pending
    assert row.next_resend_at - row.created_at == pytest.approx(timedelta(minutes=1), abs=timedelta(seconds=5))
    assert resend_due(conn.pk) == "no handshake due"

    gaps = []
    for expected in (1, 2, 3, 4):
        make_due(row)
        assert resend_due(conn.pk) == "handshakes: 1 resent"
        row.refresh_from_db()
        assert row.resend_count == expected and len(codes) == 1 + expected
        gaps.append(row.next_resend_at - row.last_resend_at)
        assert resend_due(conn.pk) == "no handshake due"  # not again before the next step
    assert gaps == [timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=3), timedelta(hours=3)]

    deliver(codes)  # the latest code; the worker runs inline here
    row.refresh_from_db()
    assert row.verified and remote(row)["verified"] is True
    assert resend_due(conn.pk) == "no handshake due"


def test_it_asks_for_the_code_from_the_connections_handshakes_job(pending, codes):
    from mlconnector.pipeline import dispatcher
    from mlconnector.pipeline.models import ConnectionJob

    conn, row = pending
    job = ConnectionJob.objects.get(connection=conn, name="handshakes")
    assert job.every_seconds == 60
    make_due(row)
    dispatcher.tick()  # the job is due: it runs (inline in tests)
    row.refresh_from_db()
    assert row.resend_count == 1 and len(codes) == 2
    job.refresh_from_db()
    assert job.last_ok and "1 resent" in job.last_message


def test_it_notices_freshbooks_no_longer_counts_a_callback_verified_and_verifies_it_again(pending, codes):
    conn, row = pending
    deliver(codes)  # inline worker: verified
    row.refresh_from_db()
    assert row.verified
    # Someone asks FreshBooks to resend: its code changes and the callback is unverified there.
    from integrations.freshbooks.client import FreshBooksClient

    FreshBooksClient(conn).resend_verification("DEMO01", row.callback_id)
    assert remote(row)["verified"] is False
    codes.clear()

    ensure_callbacks(conn.pk)  # lists the callbacks, sees it, and asks for a code of its own
    row.refresh_from_db()
    assert not row.verified and row.resend_count == 1 and len(codes) == 1
    deliver(codes)
    row.refresh_from_db()
    assert row.verified and row.verifier == genuine_code(codes, row) and remote(row)["verified"] is True


# --- the rate limit -------------------------------------------------------------------------------


def test_it_rate_limits_handshakes_per_endpoint_with_429_and_stores_nothing_over_the_limit(
    pending, codes, worker, settings
):
    conn, row = pending
    settings.FRESHBOOKS_HANDSHAKES_PER_MINUTE = 2
    # Start just after a minute boundary: the budget is per calendar minute.
    start = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=1, microsecond=0)
    with time_machine.travel(start, tick=True):
        assert post_verify(conn, row.callback_id, FORGED + "-1").status_code == 200
        assert post_verify(conn, row.callback_id, FORGED + "-2").status_code == 200
        refused = deliver(codes)
        assert refused.status_code == 429
        assert FreshBooksVerifierCandidate.objects.count() == 2
        # Unknown ids still get their 200 (and are still dropped).
        assert post_verify(conn, "555", FORGED).status_code == 200
        assert FreshBooksVerifierCandidate.objects.count() == 2
    with time_machine.travel(start + timedelta(minutes=1), tick=True):
        # FreshBooks retrying the verify POST (UNCONFIRMED) gets through the next minute.
        assert deliver(codes).status_code == 200
        run_worker(worker)
    row.refresh_from_db()
    assert row.verified and row.verifier == genuine_code(codes, row)


# --- the connection page --------------------------------------------------------------------------


@pytest.fixture
def waiting_connection(tenant_a):
    conn = ConnectionFactory(tenant=tenant_a, provider="freshbooks")
    FreshBooksCallback.objects.create(
        tenant=tenant_a,
        connection=conn,
        callback_id="701",
        event="invoice.create",
        resend_count=2,
        last_resend_at=datetime(2099, 1, 2, 2, 34, tzinfo=UTC),
        next_resend_at=datetime(2099, 1, 2, 3, 4, tzinfo=UTC),
    )
    FreshBooksCallback.objects.create(
        tenant=tenant_a, connection=conn, callback_id="702", event="payment.create", verifier=VERIFIER, verified=True
    )
    return conn


def test_it_shows_an_admin_which_webhooks_wait_for_freshbooks_on_the_connection_page(waiting_connection, as_admin_a):
    page = as_admin_a.get(reverse("connection-detail", args=[waiting_connection.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        "<code>invoice.create</code> waiting for FreshBooks to confirm — asked FreshBooks to resend the code "
        "2 times, next due at 2099-01-02 03:04 UTC"
    ) in text
    assert "<code>payment.create</code> verified" in text
    assert VERIFIER not in text


def test_it_says_when_a_resend_is_overdue_or_not_asked_for_while_paused(waiting_connection, as_admin_a):
    FreshBooksCallback.objects.filter(callback_id="701").update(
        resend_count=0, next_resend_at=timezone.now() - timedelta(minutes=1)
    )
    text = as_admin_a.get(reverse("connection-detail", args=[waiting_connection.pk])).content.decode()
    assert "not yet asked FreshBooks to resend the code, first request due now (checked every 1 min)" in text
    waiting_connection.status = "paused"
    waiting_connection.save(update_fields=["status"])
    text = as_admin_a.get(reverse("connection-detail", args=[waiting_connection.pk])).content.decode()
    assert "waiting for FreshBooks to confirm — no new code is asked for while the connection is not active" in text


def test_it_shows_the_webhooks_to_a_viewer_of_the_tenant_and_to_no_other_tenant(
    waiting_connection, tenant_b, as_viewer_a, as_admin_b
):
    url = reverse("connection-detail", args=[waiting_connection.pk])
    assert "waiting for FreshBooks to confirm" in as_viewer_a.get(url).content.decode()
    assert as_admin_b.get(url).status_code == 404
    theirs = ConnectionFactory(tenant=tenant_b, provider="freshbooks")
    FreshBooksCallback.objects.create(tenant=tenant_b, connection=theirs, callback_id="801", event="invoice.create")
    assert as_viewer_a.get(reverse("connection-detail", args=[theirs.pk])).status_code == 404
    assert "801" not in as_admin_b.get(url).content.decode()
