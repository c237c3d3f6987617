"""End to end against both sandboxes: a FreshBooks invoice becomes one GoCardless payment; the
payment confirmed, paid out and charged back comes back into FreshBooks; fees become one expense;
the month's report balances."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integrations.freshbooks.sandbox.state import rows as fb_rows
from integrations.gocardless.models import GcPayment, GcPayout, MandateRequest
from integrations.gocardless.sandbox import create_payout, move_payment
from integrations.gocardless.sandbox.state import flush
from mlconnector.pipeline.models import Delivery
from tests.gocardless.helpers import fb_payments, gc_payments, run_due, send_invoice, world

pytestmark = pytest.mark.django_db


def invoice_now(w, invoice_id) -> dict:
    return next(r.data for r in fb_rows(w.business, "invoice") if r.data["id"] == invoice_id)


def test_it_collects_an_invoice_and_posts_it_back_with_fees_and_a_balanced_month(tenant_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "120.00")
    run_due()
    [payment] = gc_payments(w.org)
    assert payment["amount"] == 12000 and payment["currency"] == "USD"
    assert payment["metadata"] == {
        "fb_account": "DEMO01",
        "fb_invoice": str(invoice["id"]),
        "ml_tenant": str(tenant_a.pk),
    }
    assert payment["charge_date"] >= invoice["due_date"]

    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    flush(w.org)
    run_due()
    [posted] = fb_payments(w.business, invoice["id"])
    assert posted["amount"]["amount"] == "120.00" and payment["id"] in posted["note"]
    assert invoice_now(w, invoice["id"])["outstanding"]["amount"] == "0.00"

    payout = create_payout(w.org, "USD")
    flush(w.org)
    run_due()
    assert len(fb_payments(w.business, invoice["id"])) == 1  # paid_out after confirmed: nothing more
    row = GcPayment.objects.get(payment_id=payment["id"])
    assert row.status == "paid_out" and row.payout_id == payout["id"] and row.fees == Decimal("1.40")
    expenses = [r.data for r in fb_rows(w.business, "expense")]
    assert len(expenses) == 1 and expenses[0]["amount"]["amount"] == "1.40" and expenses[0]["vendor"] == "GoCardless"
    assert GcPayout.objects.get(payout_id=payout["id"]).expense_id

    from integrations.gocardless.reconciliation import build

    report = build(w.gc, f"{row.charge_date:%Y-%m}", "USD")
    assert report.balanced and report.totals["posted"] == Decimal("120.00") and report.differences == []
    paid_month = build(w.gc, payout["arrival_date"][:7], "USD")
    assert paid_month.balanced and paid_month.totals["payouts_fees"] == Decimal("1.40")
    assert paid_month.totals["payouts_net"] == Decimal("118.60")


def test_a_client_without_a_mandate_waits_on_the_list_and_goes_on_once_the_mandate_is_set_up(tenant_a, as_admin_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "75.00", organization="Globex Corporation")
    run_due()
    assert gc_payments(w.org) == []
    request = MandateRequest.objects.get(invoice_id=str(invoice["id"]))
    assert request.status == "open" and request.reason == "no active mandate in USD"
    delivery = Delivery.objects.get(connection=w.gc)
    assert delivery.status == "waiting"

    page = as_admin_a.post(f"/gocardless/{w.gc.pk}/mandates/{request.pk}/link/", follow=True)
    assert page.status_code == 200
    request.refresh_from_db()
    assert request.flow_url.startswith("http://testserver/sandbox/gocardless/flow/")
    from django.test import Client

    flow_path = request.flow_url.removeprefix("http://testserver")
    assert b"hank@globex.example" in Client().get(flow_path).content
    done = Client().post(flow_path, {"email": "hank@globex.example", "company_name": "Globex Corporation"})
    assert done.status_code == 302
    run_due()
    [payment] = gc_payments(w.org)
    assert payment["amount"] == 7500
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    request.refresh_from_db()
    assert request.status == "resolved"
