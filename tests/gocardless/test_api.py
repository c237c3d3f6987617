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


def test_settings_read_and_change_through_the_api_with_the_pages_validation_and_the_secret_never_shown(tenant_a, api):
    from mlconnector.audit.models import AuditRecord
    from mlconnector.connections.models import Connection

    w = world(tenant_a)
    url = f"/api/v1/gocardless/{w.gc.pk}/settings/"
    body = api["viewer_a"].get(url).json()
    assert body["webhook_secret_set"] is True and "webhook_secret" not in body
    assert body["webhook_url"].endswith(f"/hooks/gocardless/{w.gc.endpoint_key}/")

    refused = api["viewer_a"].patch(url, {"alerts_channel": "#accounting"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
    bad = api["admin_a"].patch(url, {"alerts_channel": "two channels", "colour": "red"})
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"colour"}
    bad = api["admin_a"].patch(url, {"alerts_channel": "two channels"})
    assert bad.status_code == 400 and "Name one channel" in bad.json()["error"]["fields"]["alerts_channel"][0]
    assert api["admin_a"].patch(url, {"webhook_secret": "has a space"}).status_code == 400
    assert (Connection.objects.get(pk=w.gc.pk).config or {}).get("alerts_channel", "") == ""

    answer = api["admin_a"].patch(url, {"alerts_channel": "#accounting", "webhook_secret": "new-endpoint-secret-0000"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["changed"] == ["webhook_secret", "alerts_channel"]
    assert answer.json()["fees_category"] == body["fees_category"]  # left out: kept
    assert "new-endpoint-secret-0000" not in answer.content.decode()
    assert Connection.objects.get(pk=w.gc.pk).secrets()["webhook_secret"] == "new-endpoint-secret-0000"
    assert AuditRecord.objects.filter(kind=AuditRecord.Kind.API).count() == 1
    assert not [r for r in AuditRecord.objects.all() if "new-endpoint-secret-0000" in (r.message or "")]
    assert api["admin_b"].get(url).status_code == 404


def test_the_needs_a_mandate_list_and_its_link_through_the_api(tenant_a, api):
    from tests.gocardless.helpers import run_due, send_invoice

    w = world(tenant_a)
    invoice = send_invoice(w, "75.00", organization="Globex Corporation")
    run_due()
    url = f"/api/v1/gocardless/{w.gc.pk}/mandates/"
    [row] = api["viewer_a"].get(url).json()
    assert row["invoice_id"] == str(invoice["id"]) and row["reason"] == "no active mandate in USD"
    assert row["amount"] == "75.00" and row["currency"] == "USD" and row["link"] == ""
    assert api["admin_b"].get(url).status_code == 404

    link = f"{url}{row['id']}/link/"
    assert api["viewer_a"].post(link).status_code == 403
    made = api["admin_a"].post(link)
    assert made.status_code == 200, made.content
    assert made.json()["status"] == "link" and made.json()["link"].startswith(
        "http://testserver/sandbox/gocardless/flow/"
    )
    assert api["admin_a"].post(f"{url}999999/link/").json()["error"]["code"] == "not_found"
