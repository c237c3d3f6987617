"""The month-end reconciliation through the REST API (issue 14 extended as GoCardless landed): the
same report as the page, the same CSV byte for byte, read by admins and viewers, and nothing of it
for another tenant's token."""

from __future__ import annotations

import pytest
import time_machine

from integrations.gocardless.models import GcPayment
from integrations.gocardless.reconciliation import build, to_csv
from tests.gocardless.helpers import world
from tests.gocardless.test_polling_and_report import _month_with_a_bit_of_everything

pytestmark = pytest.mark.django_db


def test_the_report_reads_the_same_through_the_api_for_admins_and_viewers_and_not_for_another_tenant(tenant_a, api):
    with time_machine.travel("2026-11-02T12:00:00Z", tick=True):
        w = world(tenant_a)
        _month_with_a_bit_of_everything(w)
        month = f"{GcPayment.objects.first().charge_date:%Y-%m}"
        expected = build(w.gc, month, "USD")
        url = f"/api/v1/gocardless/{w.gc.pk}/reconciliation/?month={month}&currency=USD"
        for persona in ("admin_a", "viewer_a"):
            answer = api[persona].get(url)
            assert answer.status_code == 200, answer.content
            body = answer.json()
            assert body["balanced"] is True and body["month"] == month and body["currency"] == "USD"
            assert body["totals"] == {k: str(v) for k, v in expected.totals.items()}  # money as exact strings
            assert [d["about"] for d in body["differences"]] == [about for about, _ in expected.differences]
            assert len(body["lines"]) == len(expected.lines)
            assert all(isinstance(line["amount"], str) for line in body["lines"])
            csv = api[persona].get(f"/api/v1/gocardless/{w.gc.pk}/reconciliation/csv/?month={month}&currency=USD")
            assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
            assert csv.content.decode() == to_csv(expected)  # byte for byte the page's Download CSV
        other = api["admin_b"].get(url)
        assert other.status_code == 404 and set(other.json()["error"]) == {"code", "message", "fields"}


def test_a_month_or_currency_that_is_not_one_gets_the_error_body_and_names_the_field(tenant_a, api):
    w = world(tenant_a)
    answer = api["admin_a"].get(f"/api/v1/gocardless/{w.gc.pk}/reconciliation/?month=2026-13&currency=dollars")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid" and set(error["fields"]) == {"month", "currency"}
    assert api["admin_a"].get("/api/v1/gocardless/999999/reconciliation/").status_code == 404
