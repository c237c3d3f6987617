"""End to end against the sandbox: onboarding, the handshake, a signed webhook to a delivery,
revoked tokens, the polling backstop, and refresh under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from integrations.freshbooks.models import FreshBooksCallback, FreshBooksVerifierCandidate
from integrations.freshbooks.polling import poll_connection
from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import KINDS, rows
from integrations.freshbooks.sandbox.state import today as freshbooks_today
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault, SandboxObject, SandboxToken
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent
from tests.conftest import client_for
from tests.freshbooks.helpers import sandbox_source
from tests.pipeline_helpers import sink_connection
from tests.testsink.sandbox import effect_count

pytestmark = pytest.mark.django_db
CONSOLE = "/sandbox/freshbooks/console/DEMO01"


def connect_freshbooks(client: Client, decision: str = "allow", query: str = "") -> Client:
    """Drive the browser flow: Connect → sandbox consent page → decision → back to ml-connector."""
    start = client.get("/connections/freshbooks/connect/" + query)
    assert start.status_code == 302
    consent_url = start["Location"]
    assert consent_url.startswith("http://testserver/sandbox/freshbooks/auth/oauth/authorize?")
    path = consent_url.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    back = client.post(path, {"identity": "5001", "decision": decision})
    assert back.status_code == 302
    return client.get(back["Location"].removeprefix("http://testserver"), follow=True)


def northwind_id() -> int:
    return next(
        r.data["id"]
        for r in SandboxObject.objects.filter(kind="client")
        if r.data["organization"] == "Northwind Traders"
    )


def create_invoice(amount: str = "6000.00") -> None:
    response = Client().post(
        f"{CONSOLE}/invoice/",
        {
            "invoice-customerid": northwind_id(),
            "invoice-amount": amount,
            "invoice-currency_code": "USD",
            # net 30 in the books' calendar (FreshBooks: US/Eastern), as the console pre-fills it
            "invoice-due_date": (freshbooks_today() + timedelta(days=30)).isoformat(),
        },
    )
    assert response.status_code in (200, 302), response.content[:500]


@pytest.fixture
def demo(db):
    return seed_demo()


def test_a_newcomer_connects_freshbooks_and_an_invoice_reaches_the_target(demo, tenant_a, admin_a):
    sink_connection(tenant_a)  # something in the tenant consumes invoices
    page = connect_freshbooks(client_for(admin_a))
    assert b"FreshBooks connected: Demo Books Ltd" in page.content

    conn = Connection.objects.get(provider="freshbooks", tenant=tenant_a)
    assert conn.status == "active" and conn.config["account_id"] == "DEMO01"
    assert conn.secrets()["access_token"] and conn.token_expires_at > timezone.now() + timedelta(hours=11)
    # Webhooks registered and verified through the callback.verify handshake, with no further steps.
    callbacks = FreshBooksCallback.objects.filter(connection=conn)
    assert {cb.event for cb in callbacks} == {"invoice.create", "invoice.update", "payment.create"}
    assert all(cb.verified and cb.verifier for cb in callbacks)
    assert not FreshBooksVerifierCandidate.objects.exists()  # nothing left waiting
    remote = [r.data for r in rows(demo.businesses[0], "callback")]
    assert all(r["verified"] for r in remote) and len(remote) == 3

    create_invoice("6000.00")
    event = InboundEvent.objects.get(event_type="invoice.create")
    assert event.status == "received"  # stored and acknowledged; nothing else happened on the ack path
    dispatcher.tick()
    event.refresh_from_db()
    assert event.status == "processed" and event.counterparty == "Northwind Traders"
    assert event.amount == Decimal("6000.00") and event.invoice_number
    assert Delivery.objects.get(event=event).status == "succeeded"
    assert effect_count() == 1


def test_the_handshake_keeps_the_verifier_encrypted(demo, tenant_a, admin_a):
    sink_connection(tenant_a)
    connect_freshbooks(client_for(admin_a))
    cb = FreshBooksCallback.objects.first()
    remote = SandboxObject.objects.get(kind="callback", object_id=cb.callback_id)
    assert cb.verifier == remote.secret
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT verifier FROM freshbooks_freshbookscallback WHERE id = %s", [cb.pk])
        assert cb.verifier.encode() not in bytes(cur.fetchone()[0])


def test_a_forged_callback_verify_cannot_plant_a_verifier(demo, tenant_a, admin_a):
    sink_connection(tenant_a)
    connect_freshbooks(client_for(admin_a))
    conn = Connection.objects.get(provider="freshbooks")
    cb = FreshBooksCallback.objects.filter(connection=conn).first()
    before = cb.verifier
    forged = f"name=callback.verify&object_id={cb.callback_id}&verifier=attacker-chosen-verifier".encode()
    Client().post(
        f"/hooks/freshbooks/{conn.endpoint_key}/", data=forged, content_type="application/x-www-form-urlencoded"
    )
    cb.refresh_from_db()
    # FreshBooks refused the PUT, so the active verifier is unchanged.
    assert cb.verifier == before


def test_it_lets_the_user_choose_among_several_businesses(tenant_a, admin_a):
    seed_demo(businesses=2)
    client = client_for(admin_a)
    page = connect_freshbooks(client)
    conn = Connection.objects.get(provider="freshbooks")
    assert conn.status == "pending" and b"Which FreshBooks account" in page.content
    bad = client.post(f"/connections/{conn.pk}/choose/", {"choice": "NOT-ONE-OF-THEM"})
    assert bad.status_code == 400 and b"not one of the choices" in bad.content
    client.post(f"/connections/{conn.pk}/choose/", {"choice": "DEMO02"})
    conn.refresh_from_db()
    assert conn.status == "active" and conn.config["account_id"] == "DEMO02"


def test_declining_consent_connects_nothing(demo, admin_a):
    page = connect_freshbooks(client_for(admin_a), decision="deny")
    assert b"You declined access to FreshBooks" in page.content
    assert not Connection.objects.exists()


def test_a_callback_with_a_wrong_or_reused_state_is_refused(demo, admin_a):
    client = client_for(admin_a)
    start = client.get("/connections/freshbooks/connect/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    forged = client.get("/connections/freshbooks/callback/?code=abc&state=not-the-state", follow=True)
    assert b"could not be matched" in forged.content
    # The state was consumed by that attempt: the genuine one is single-use too.
    replay = client.get(f"/connections/freshbooks/callback/?code=abc&state={state}", follow=True)
    assert b"could not be matched" in replay.content
    assert not Connection.objects.exists()


def test_a_revoked_token_parks_the_work_until_reconnected(demo, tenant_a, admin_a):
    sink_connection(tenant_a)
    connect_freshbooks(client_for(admin_a))
    conn = Connection.objects.get(provider="freshbooks")
    faults.add("freshbooks", kind=SandboxFault.Kind.REVOKE, match="/invoices/")
    create_invoice()
    dispatcher.tick()
    conn.refresh_from_db()
    event = InboundEvent.objects.get(event_type="invoice.create")
    assert conn.status == "needs_reconnect"
    assert event.status == "waiting" and event.attempts == 0  # waiting burns no retries
    assert "reconnect" in conn.last_error.lower() or conn.last_error

    connect_freshbooks(client_for(admin_a), query=f"?connection={conn.pk}")
    conn.refresh_from_db()
    assert conn.status == "active"
    dispatcher.tick()
    event.refresh_from_db()
    assert event.status == "processed" and effect_count() == 1


def test_the_polling_backstop_feeds_missed_records_once(tenant_a):
    sink = sink_connection(tenant_a)
    source = sandbox_source(tenant_a)  # no webhooks registered: every change is "missed"
    create_invoice("250.00")
    assert not InboundEvent.objects.exists()
    assert poll_connection(source.pk) == "found 1 change(s) the webhooks missed"
    dispatcher.tick()
    assert Delivery.objects.filter(connection=sink, status="succeeded").count() == 1
    # A second sweep over the overlap window finds nothing new.
    assert poll_connection(source.pk) == "nothing missed"
    # A change is found as an update, delivered once.
    account = seed_demo().businesses[0]
    invoice = rows(account, "invoice").first()
    from integrations.freshbooks.sandbox import records as records

    records.update(account, KINDS["invoice"], invoice.data["id"], {"notes": "changed", "due_date": "2027-01-31"})
    assert poll_connection(source.pk) == "found 1 change(s) the webhooks missed"
    dispatcher.tick()
    assert InboundEvent.objects.filter(event_type="invoice.update", status="processed").count() == 1
    # Two writes at the sink: the create, then the update naming the record the create made.
    effects = list(SandboxObject.objects.filter(provider="testsink", kind="effect").order_by("pk"))
    assert len(effects) == 2 and effects[1].data["update_of"] == str(effects[0].pk)


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_an_expired_token_refresh_it_once(tenant_a):
    source = sandbox_source(tenant_a)
    Connection.objects.filter(pk=source.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    results, errors = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            conn = Connection.objects.get(pk=source.pk)
            barrier.wait()
            results.append(conn.integration.client().get("/accounting/account/DEMO01/invoices/invoices"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(results) == 2
    conn = Connection.objects.get(pk=source.pk)
    assert conn.status == "active" and conn.credentials_version == source.credentials_version + 1
    # The sandbox saw exactly one refresh: one spent refresh token, one new one outstanding.
    refresh_tokens = SandboxToken.objects.filter(provider="freshbooks", kind="refresh")
    assert refresh_tokens.filter(used_at__isnull=False).count() == 1


def test_test_connection_pings_freshbooks_with_the_stored_token(demo, tenant_a, admin_a, viewer_a):
    client = client_for(admin_a)
    connect_freshbooks(client)
    conn = Connection.objects.get(provider="freshbooks")
    page = client.post(f"/connections/{conn.pk}/test/", follow=True)
    assert b"Test passed" in page.content and b"owner@demo-books.example" in page.content
    faults.add("freshbooks", status=503, match="/users/me", times=5)
    page = client_for(viewer_a).post(f"/connections/{conn.pk}/test/", follow=True)
    assert b"Test failed" in page.content


def test_proactive_refresh_renews_tokens_before_they_expire(tenant_a):
    from mlconnector.connections.tasks import refresh_expiring

    source = sandbox_source(tenant_a)
    Connection.objects.filter(pk=source.pk).update(token_expires_at=timezone.now() + timedelta(minutes=5))
    assert refresh_expiring() == "refreshed 1, failed 0"
    source.refresh_from_db()
    assert source.token_expires_at > timezone.now() + timedelta(hours=11)
