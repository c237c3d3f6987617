"""Helpers for GoCardless tests: a tenant with FreshBooks (the books) and GoCardless connected to
the sandboxes, the webhook endpoint pointed at ml-connector, and a way to run what is due."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta

from django.test import Client

from integrations.freshbooks.sandbox.state import KINDS
from integrations.freshbooks.sandbox.state import today as books_today
from integrations.gocardless.sandbox import issue_token, seed_demo, set_webhook_endpoint
from integrations.sandbox.models import SandboxAccount, SandboxObject
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import sandbox_source


@dataclass
class World:
    books: Connection  # FreshBooks
    gc: Connection  # GoCardless
    org: SandboxAccount  # the fake GoCardless organisation
    business: SandboxAccount  # the fake FreshBooks business
    secret: str


def gc_connection(tenant, *, org=None, secret: bool = True) -> tuple[Connection, str]:
    demo = seed_demo()
    org = org or demo.sandbox
    conn = ConnectionFactory(
        tenant=tenant,
        provider="gocardless",
        name="Demo Books Ltd",
        credentials={"access_token": issue_token(org)},
        config={"environment": org.data["environment"], "creditor_id": "CR", "fees_category": "Bank Fees"},
        external_account_id="CR",
    )
    webhook_secret = set_webhook_endpoint(org, f"http://testserver/hooks/gocardless/{conn.endpoint_key}/")
    if secret:
        conn.credentials = {**conn.credentials, "webhook_secret": webhook_secret}
        conn.save(update_fields=["credentials"])
    return conn, webhook_secret


def world(tenant) -> World:
    books = sandbox_source(tenant)
    gc, secret = gc_connection(tenant)
    business = SandboxAccount.objects.get(provider="freshbooks", key="DEMO01")
    return World(books=books, gc=gc, org=seed_demo().sandbox, business=business, secret=secret)


def client_id(business: SandboxAccount, organization: str) -> int:
    return next(
        r.data["id"]
        for r in SandboxObject.objects.filter(kind="client", account=business)
        if r.data["organization"] == organization
    )


def send_invoice(
    w: World, amount: str = "120.00", organization: str = "Northwind Traders", due_in: int = 14, status: int = 2
) -> dict:
    """An invoice made in the FreshBooks sandbox, sent to the client, and its invoice.create event."""
    from integrations.freshbooks.sandbox import records

    record, _ = records.create(
        w.business,
        KINDS["invoice"],
        {
            "customerid": client_id(w.business, organization),
            "status": status,
            "create_date": min(books_today(), books_today() + timedelta(days=due_in)).isoformat(),
            "due_date": (books_today() + timedelta(days=due_in)).isoformat(),
            "lines": [{"name": "Work", "qty": "1", "unit_cost": {"amount": amount}}],
        },
    )
    store_books_event(w, "invoice.create", record["id"])
    return record


def store_books_event(w: World, name: str, object_id) -> None:
    from django.utils import timezone

    from mlconnector.webhooks.models import InboundEvent

    now = timezone.now()
    InboundEvent.objects.create(
        tenant=w.books.tenant,
        connection=w.books,
        provider="freshbooks",
        event_type=name,
        object_id=str(object_id),
        account_id="DEMO01",
        dedupe_key=f"test-{name}-{object_id}-{now.timestamp()}",
        next_attempt_at=now,
        received_at=now,
    )


def run_due(rounds: int = 6) -> None:
    """Dispatch what is due until nothing moves (django-q2 runs inline in the tests)."""
    for _ in range(rounds):
        dispatcher.tick()


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(conn: Connection, events: list[dict] | bytes, secret: str, signature: str | None = None):
    body = events if isinstance(events, bytes) else json.dumps({"events": events}).encode()
    return Client().post(
        f"/hooks/gocardless/{conn.endpoint_key}/",
        data=body,
        content_type="application/json",
        HTTP_WEBHOOK_SIGNATURE=signature if signature is not None else sign(body, secret),
    )


def fb_payments(business: SandboxAccount, invoice_id) -> list[dict]:
    return [
        r.data
        for r in SandboxObject.objects.filter(provider="freshbooks", account=business, kind="payment")
        if str(r.data.get("invoiceid")) == str(invoice_id)
    ]


def gc_payments(org: SandboxAccount) -> list[dict]:
    return [
        r.data for r in SandboxObject.objects.filter(provider="gocardless", account=org, kind="payment").order_by("id")
    ]
