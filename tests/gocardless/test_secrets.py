"""The GoCardless access token and webhook endpoint secret never appear in clear: not in any table
after a full flow (connect, webhooks, payment, payout), nor in what was logged."""

from __future__ import annotations

import pytest

from integrations.gocardless.sandbox import create_payout, issue_token, move_payment, seed_demo, set_webhook_endpoint
from integrations.gocardless.sandbox.state import flush
from mlconnector.connections.models import Connection
from tests.core.test_secrets import assert_nowhere, log_position
from tests.freshbooks.helpers import sandbox_source
from tests.gocardless.helpers import World, fb_payments, gc_payments, run_due, send_invoice

pytestmark = pytest.mark.django_db


def test_no_gocardless_secret_survives_in_a_database_dump_or_the_logs(tenant_a, as_admin_a):
    start = log_position()
    demo = seed_demo()
    books = sandbox_source(tenant_a)
    token = issue_token(demo.sandbox)
    assert as_admin_a.post("/gocardless/connect/", {"token": token, "environment": "sandbox"}).status_code == 302
    gc = Connection.objects.get(provider="gocardless")
    secret = set_webhook_endpoint(demo.sandbox, f"http://testserver/hooks/gocardless/{gc.endpoint_key}/")
    form = {"webhook_secret": secret, "fees_category": "Bank Fees"}
    assert as_admin_a.post(f"/gocardless/{gc.pk}/", form).status_code == 302
    from integrations.sandbox.models import SandboxAccount

    w = World(books=books, gc=gc, org=demo.sandbox, business=SandboxAccount.objects.get(key="DEMO01"), secret=secret)
    invoice = send_invoice(w, "64.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    create_payout(w.org, "USD")
    flush(w.org)
    run_due()
    assert len(fb_payments(w.business, invoice["id"])) == 1
    assert_nowhere([token, secret], start)
