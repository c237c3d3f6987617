"""The webhooks' fallback (/events with cursors, the daily payouts check), the rate-limit budget,
and the month-end report: deterministic, balanced, every difference named."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine

from integrations.gocardless.client import GoCardlessClient
from integrations.gocardless.models import GcPayment
from integrations.gocardless.reconciliation import build, to_csv
from integrations.gocardless.sandbox import create_payout, move_payment
from integrations.gocardless.sandbox.state import flush
from integrations.sandbox import faults
from mlconnector.http import RateLimited
from mlconnector.pipeline.models import ConnectionJob
from mlconnector.webhooks.models import InboundEvent
from tests.gocardless.helpers import fb_payments, gc_connection, gc_payments, run_due, send_invoice, world

pytestmark = pytest.mark.django_db


def run_job(conn, name: str) -> str:
    from mlconnector.pipeline.jobs import run_job as run

    job = ConnectionJob.objects.get(connection=conn, name=name)
    ConnectionJob.objects.filter(pk=job.pk).update(next_attempt_at=job.next_attempt_at.replace(year=2000))
    return run(job.pk)


def test_without_webhooks_the_events_poll_brings_the_payment_into_freshbooks_once(tenant_a):
    w = world(tenant_a)
    w.gc.credentials = {"access_token": w.gc.secrets()["access_token"]}  # no secret: webhooks refused
    w.gc.save(update_fields=["credentials"])
    invoice = send_invoice(w, "33.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    flush(w.org)  # refused with 401: nothing stored
    assert not InboundEvent.objects.filter(provider="gocardless", source="webhook").exists()
    assert "found" in run_job(w.gc, "events")
    run_due()
    assert len(fb_payments(w.business, invoice["id"])) == 1
    assert run_job(w.gc, "events") == "done"  # the same events again: nothing new stored
    run_due()
    assert len(fb_payments(w.business, invoice["id"])) == 1


def test_the_daily_payouts_check_records_fees_the_webhook_did_not_bring(tenant_a):
    w = world(tenant_a)
    w.gc.credentials = {"access_token": w.gc.secrets()["access_token"]}
    w.gc.save(update_fields=["credentials"])
    send_invoice(w, "200.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    create_payout(w.org, "USD")
    assert "payout" in run_job(w.gc, "payouts")
    run_due()
    from integrations.freshbooks.sandbox.state import rows as fb_rows

    [expense] = [r.data for r in fb_rows(w.business, "expense")]
    assert expense["amount"]["amount"] == "2.20"


def test_ratelimit_headers_block_the_connections_budget_until_the_reset_date(tenant_a):
    conn, _ = gc_connection(tenant_a)
    faults.add(
        "gocardless",
        match="GET /sandbox/gocardless/sandbox/creditors",
        status=429,
        body={
            "error": {
                "code": 429,
                "type": "invalid_api_usage",
                "message": "Rate limit exceeded",
                "errors": [{"reason": "rate_limit_exceeded", "message": "Rate limit exceeded"}],
            }
        },
        headers={
            "RateLimit-Limit": "1000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "Thu, 01 Jan 2099 00:00:00 GMT",
        },
    )
    with pytest.raises(RateLimited) as exc:
        GoCardlessClient(conn).creditor()
    assert exc.value.retry_after > 3600  # read from the HTTP date, not as seconds
    with pytest.raises(RateLimited):  # every worker now waits, without calling GoCardless
        GoCardlessClient(conn).creditor()


def test_the_fake_sends_ratelimit_headers_and_429s_past_its_limit(client, tenant_a, settings):
    from integrations.gocardless.sandbox import issue_token, seed_demo
    from integrations.sandbox import ratelimit

    settings.GOCARDLESS_SANDBOX_RATE_LIMIT = (2, 60)
    ratelimit.reset("gocardless")
    token = issue_token(seed_demo().sandbox)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_GOCARDLESS_VERSION": "2015-07-06"}
    first = client.get("/sandbox/gocardless/sandbox/creditors", **headers)
    assert first["RateLimit-Limit"] == "2" and first["RateLimit-Remaining"] == "1"
    assert first["RateLimit-Reset"].endswith(" GMT")
    client.get("/sandbox/gocardless/sandbox/creditors", **headers)
    third = client.get("/sandbox/gocardless/sandbox/creditors", **headers)
    assert third.status_code == 429 and third.json()["error"]["errors"][0]["reason"] == "rate_limit_exceeded"


def _month_with_a_bit_of_everything(w):
    collected = send_invoice(w, "100.00")
    failed = send_invoice(w, "20.00")
    pending = send_invoice(w, "30.00")
    run_due()
    by_amount = {p["amount"]: p["id"] for p in gc_payments(w.org)}
    for pid in (by_amount[10000], by_amount[2000]):
        move_payment(w.org, pid, "submit")
    move_payment(w.org, by_amount[10000], "confirm")
    move_payment(w.org, by_amount[2000], "fail")
    create_payout(w.org, "USD")
    flush(w.org)
    run_due()
    return collected, failed, pending


def test_the_month_end_report_balances_names_each_difference_and_is_the_same_byte_for_byte(tenant_a, as_admin_a):
    with time_machine.travel("2026-11-02T12:00:00Z", tick=True):
        w = world(tenant_a)
        _month_with_a_bit_of_everything(w)
        month = f"{GcPayment.objects.first().charge_date:%Y-%m}"
        report = build(w.gc, month, "USD")
        assert report.balanced
        t = report.totals
        assert (t["requested"], t["collected"], t["failed"], t["pending"]) == (
            Decimal("150.00"),
            Decimal("100.00"),
            Decimal("20.00"),
            Decimal("30.00"),
        )
        assert t["posted"] == Decimal("100.00") and t["flagged"] == Decimal("0.00")
        assert t["payouts_fees"] == Decimal("1.20") and t["payouts_net"] == Decimal("98.80")
        [(about, words)] = report.differences
        failed = next(p for p in GcPayment.objects.all() if p.status == "failed")
        assert about == failed.payment_id and words.startswith("failed: not collected")
        first = to_csv(report)
        assert first == to_csv(build(w.gc, month, "USD"))
        response = as_admin_a.get(f"/gocardless/{w.gc.pk}/reconciliation.csv?month={month}&currency=USD")
        assert response.content.decode() == first
        assert "balanced,yes" in first
        page = as_admin_a.get(f"/gocardless/{w.gc.pk}/reconciliation/?month={month}&currency=USD")
        assert b"Balanced" in page.content


def test_a_month_or_currency_that_is_not_one_is_404(tenant_a, as_admin_a):
    conn, _ = gc_connection(tenant_a)
    assert as_admin_a.get(f"/gocardless/{conn.pk}/reconciliation/?month=2026-13").status_code == 404
    assert as_admin_a.get(f"/gocardless/{conn.pk}/reconciliation.csv?currency=dollars").status_code == 404
