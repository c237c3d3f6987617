"""The FreshBooks sandbox's accounting REST API, over HTTP and through ml-connector's own client."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from integrations.freshbooks.client import FreshBooksClient
from integrations.freshbooks.sandbox import add_business, add_identity, seed_demo
from integrations.freshbooks.sandbox import records as records
from integrations.freshbooks.sandbox.state import KINDS, PROVIDER, issue_tokens, rows
from integrations.sandbox import faults, tokens
from integrations.sandbox.models import SandboxFault, SandboxObject, SandboxToken
from mlconnector.connections.models import Connection
from mlconnector.http import NotFound, RateLimited, Rejected, Unauthorized, Unavailable
from tests.factories import ConnectionFactory

BASE = "/sandbox/freshbooks/api/accounting/account"


@pytest.fixture
def demo(db):
    return seed_demo()


@pytest.fixture
def issued(demo):
    return issue_tokens(demo.identity, tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID), "")


@pytest.fixture
def api(issued) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")


def client_id(account_id: str = "DEMO01", organization: str = "Northwind Traders") -> int:
    return next(
        r.data["id"]
        for r in SandboxObject.objects.filter(kind="client", account__key=account_id)
        if r.data["organization"] == organization
    )


def new_invoice(account, amount: str = "120.00", **fields) -> dict:
    body = {
        "customerid": client_id(account.key),
        "lines": [{"name": "Work", "qty": "1", "unit_cost": {"amount": amount}}],
    }
    record, _ = records.create(account, KINDS["invoice"], {**body, **fields})
    return record


def post(api: Client, path: str, body: dict, account_id: str = "DEMO01"):
    return api.post(f"{BASE}/{account_id}/{path}", body, content_type="application/json")


def result(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()["response"]["result"]


def test_it_lists_with_the_freshbooks_envelope_and_paging(demo, api):
    account = demo.businesses[0]
    for _ in range(17):
        new_invoice(account)
    first = result(api.get(f"{BASE}/DEMO01/invoices/invoices"))
    assert first["page"] == 1 and first["pages"] == 2 and first["per_page"] == 15 and first["total"] == 17
    assert len(first["invoices"]) == 15
    second = result(api.get(f"{BASE}/DEMO01/invoices/invoices", {"page": 2}))
    assert len(second["invoices"]) == 2
    assert {i["id"] for i in first["invoices"]}.isdisjoint({i["id"] for i in second["invoices"]})


def test_it_caps_per_page_at_100_silently_and_treats_page_0_as_page_1(demo, api):
    account = demo.businesses[0]
    for _ in range(105):
        new_invoice(account)
    capped = result(api.get(f"{BASE}/DEMO01/invoices/invoices", {"per_page": 500, "page": 0}))
    assert capped["per_page"] == 100 and capped["page"] == 1 and capped["pages"] == 2 and capped["total"] == 105
    assert len(capped["invoices"]) == 100
    past_the_end = result(api.get(f"{BASE}/DEMO01/invoices/invoices", {"per_page": 100, "page": 9}))
    assert past_the_end["invoices"] == [] and past_the_end["total"] == 105


def test_it_answers_a_non_integer_page_with_an_error(demo, api):
    response = api.get(f"{BASE}/DEMO01/invoices/invoices", {"page": "two"})
    assert response.status_code == 400
    assert response.json()["response"]["errors"][0]["field"] == "page"


def test_it_answers_a_missing_record_with_the_old_error_envelope_and_404(demo, api):
    response = api.get(f"{BASE}/DEMO01/users/clients/12345")
    assert response.status_code == 404
    assert response.json() == {
        "response": {
            "errors": [
                {"errno": 1012, "field": "userid", "message": "Client not found.", "object": "client", "value": "12345"}
            ]
        }
    }
    assert api.get(f"{BASE}/DEMO01/invoices/invoices/not-a-number").status_code == 404


def test_it_shapes_invoices_like_freshbooks(demo, api):
    invoice = result(
        post(
            api,
            "invoices/invoices",
            {
                "invoice": {
                    "customerid": client_id(),
                    "create_date": "2026-03-01",
                    "due_offset_days": 30,
                    "currency_code": "usd",
                    "lines": [{"name": "Design", "qty": "2", "unit_cost": {"amount": "90.00", "code": "USD"}}],
                }
            },
        )
    )["invoice"]
    assert invoice["id"] == invoice["invoiceid"]
    assert invoice["accountid"] == "DEMO01"
    assert invoice["customerid"] == client_id() and invoice["organization"] == "Northwind Traders"
    assert invoice["amount"] == {"amount": "180.00", "code": "USD"}
    assert invoice["outstanding"] == {"amount": "180.00", "code": "USD"}
    assert invoice["paid"] == {"amount": "0.00", "code": "USD"}
    assert invoice["create_date"] == "2026-03-01" and invoice["due_date"] == "2026-03-31"
    assert (invoice["status"], invoice["v3_status"], invoice["display_status"]) == (1, "draft", "draft")
    assert invoice["vis_state"] == 0 and invoice["invoice_number"] == "0000001"
    assert "email" not in invoice and "lines" not in invoice and "_base_status" not in invoice
    assert len(invoice["updated"]) == 19 and "T" not in invoice["updated"]  # Eastern wall time, no zone
    with_lines = result(api.get(f"{BASE}/DEMO01/invoices/invoices/{invoice['id']}", {"include[]": "lines"}))
    assert with_lines["invoice"]["lines"][0]["amount"] == {"amount": "180.00", "code": "USD"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customerid": 1, "lines": [{"unit_cost": {"amount": "1.00"}}]}, "customerid"),
        ({"lines": [{"unit_cost": {"amount": "10.001"}}]}, "unit_cost"),
        ({"lines": [{"unit_cost": {"amount": "ten"}}]}, "unit_cost"),
        ({"lines": []}, "lines"),
        ({"lines": [{"unit_cost": {"amount": "1"}}], "due_date": "yesterday"}, "due_date"),
        (
            {"lines": [{"unit_cost": {"amount": "1"}}], "create_date": "2026-05-02", "due_date": "2026-05-01"},
            "due_date",
        ),
    ],
)
def test_it_refuses_invalid_invoices_and_creates_nothing(demo, api, body, field):
    body = {"customerid": client_id(), **body}
    response = post(api, "invoices/invoices", {"invoice": body})
    assert response.status_code in (404, 422)
    assert response.json()["response"]["errors"][0]["field"] == field
    assert not rows(demo.businesses[0], "invoice").exists()


def test_it_refuses_a_body_not_wrapped_in_the_singular_name(demo, api):
    response = post(api, "invoices/invoices", {"customerid": client_id()})
    assert response.status_code == 400
    assert api.post(f"{BASE}/DEMO01/invoices/invoices", "{nope", content_type="application/json").status_code == 400


def test_it_applies_payments_to_the_invoice_partial_then_paid(demo, api):
    invoice = new_invoice(demo.businesses[0], "100.00")
    payment = result(
        post(
            api,
            "payments/payments",
            {
                "payment": {
                    "invoiceid": invoice["id"],
                    "amount": {"amount": "40.00"},
                    "date": "2026-04-01",
                    "type": "Check",
                    "note": "PM1",
                }
            },
        )
    )["payment"]
    assert payment["id"] == payment["logid"] and "paymentid" not in payment
    assert payment["invoiceid"] == invoice["id"] and payment["clientid"] == invoice["customerid"]
    assert payment["amount"] == {"amount": "40.00", "code": "USD"} and payment["overpaymentid"] is None
    partial = result(api.get(f"{BASE}/DEMO01/invoices/invoices/{invoice['id']}"))["invoice"]
    assert partial["outstanding"]["amount"] == "60.00" and partial["paid"]["amount"] == "40.00"
    assert (partial["status"], partial["v3_status"], partial["payment_status"]) == (8, "partial", "partial")

    post(api, "payments/payments", {"payment": {"invoiceid": invoice["id"], "amount": {"amount": "60.00"}}})
    paid = result(api.get(f"{BASE}/DEMO01/invoices/invoices/{invoice['id']}"))["invoice"]
    assert paid["outstanding"]["amount"] == "0.00" and paid["status"] == 4 and paid["v3_status"] == "paid"
    assert paid["date_paid"]

    found = result(api.get(f"{BASE}/DEMO01/payments/payments", {"search[invoiceid]": invoice["id"]}))["payments"]
    assert [p["note"] for p in found] == ["PM1", ""]


def test_it_turns_an_overpayment_into_a_credit_not_a_negative_outstanding(demo, api):
    invoice = new_invoice(demo.businesses[0], "50.00")
    payment = result(post(api, "payments/payments", {"payment": {"invoiceid": invoice["id"], "amount": "80.00"}}))
    assert payment["payment"]["overpaymentid"]
    after = result(api.get(f"{BASE}/DEMO01/invoices/invoices/{invoice['id']}"))["invoice"]
    assert after["outstanding"]["amount"] == "0.00" and after["paid"]["amount"] == "50.00" and after["status"] == 4
    credit = SandboxObject.objects.get(kind="credit")
    assert credit.data["amount"] == {"amount": "30.00", "code": "USD"}


@pytest.mark.parametrize("amount", ["0", "-5.00", "1.234", "abc", None])
def test_it_refuses_payments_with_a_bad_amount(demo, api, amount):
    invoice = new_invoice(demo.businesses[0])
    response = post(api, "payments/payments", {"payment": {"invoiceid": invoice["id"], "amount": {"amount": amount}}})
    assert response.status_code == 422
    assert not rows(demo.businesses[0], "payment").exists()


def test_it_restores_the_outstanding_amount_when_a_payment_is_deleted(demo, api):
    invoice = new_invoice(demo.businesses[0], "100.00")
    payment = result(post(api, "payments/payments", {"payment": {"invoiceid": invoice["id"], "amount": "100"}}))
    gone = api.put(
        f"{BASE}/DEMO01/payments/payments/{payment['payment']['id']}",
        {"payment": {"vis_state": 1}},
        content_type="application/json",
    )
    assert result(gone)["payment"]["vis_state"] == 1
    after = result(api.get(f"{BASE}/DEMO01/invoices/invoices/{invoice['id']}"))["invoice"]
    assert after["outstanding"]["amount"] == "100.00" and after["status"] == 1


def test_it_filters_by_updated_min_at_day_granularity(demo, api):
    account = demo.businesses[0]
    old, new = new_invoice(account), new_invoice(account)
    row = rows(account, "invoice").get(object_id=str(old["id"]))
    row.data["updated"] = "2024-05-01 23:59:59"
    row.save()
    day_of_old = result(api.get(f"{BASE}/DEMO01/invoices/invoices", {"search[updated_min]": "2024-05-01"}))
    assert {i["id"] for i in day_of_old["invoices"]} == {old["id"], new["id"]}
    after_old = result(api.get(f"{BASE}/DEMO01/invoices/invoices", {"search[updated_min]": "2024-05-02"}))
    assert [i["id"] for i in after_old["invoices"]] == [new["id"]]
    bad = api.get(f"{BASE}/DEMO01/invoices/invoices", {"search[updated_min]": "May 1st"})
    assert bad.status_code == 400


def test_it_filters_by_equality_lists_and_like(demo, api):
    by_org = result(api.get(f"{BASE}/DEMO01/users/clients", {"search[organization_like]": "globex"}))["clients"]
    assert [c["organization"] for c in by_org] == ["Globex Corporation"]
    by_ids = result(api.get(f"{BASE}/DEMO01/users/clients", {"search[userids][]": [client_id()]}))["clients"]
    assert [c["organization"] for c in by_ids] == ["Northwind Traders"]


def test_it_serves_bills_vendors_expenses_and_read_only_categories(demo, api):
    vendor = result(post(api, "bill_vendors/bill_vendors", {"bill_vendor": {"vendor_name": "Paper Co"}}))
    vendor = vendor["bill_vendor"]
    assert vendor["id"] == vendor["vendorid"] and vendor["vendor_name"] == "Paper Co"
    bill = result(
        post(
            api,
            "bills/bills",
            {
                "bill": {
                    "vendorid": vendor["id"],
                    "issue_date": "2026-01-10",
                    "due_offset_days": 14,
                    "amount": {"amount": "75.5"},
                }
            },
        )
    )["bill"]
    assert bill["amount"] == bill["total_amount"] == bill["outstanding"] == {"amount": "75.50", "code": "USD"}
    assert bill["vendorid"] == vendor["id"] and bill["due_date"] == "2026-01-24" and bill["bill_number"]
    assert bill["created_at"] and bill["updated_at"] and "updated" not in bill  # bills carry UTC timestamps

    categories = result(api.get(f"{BASE}/DEMO01/expenses/categories"))["categories"]
    assert {"Internal", "Travel", "Software"} <= {c["category"] for c in categories}
    internal = next(c for c in categories if c["category"] == "Internal")
    assert internal["id"] == internal["categoryid"]
    refused = post(api, "expenses/categories", {"category": {"category": "Nope"}})
    assert refused.status_code == 405

    expense = result(
        post(
            api,
            "expenses/expenses",
            {
                "expense": {
                    "categoryid": internal["id"],
                    "amount": {"amount": "12.30"},
                    "vendor": "Cafe",
                    "date": "2026-02-02",
                }
            },
        )
    )["expense"]
    assert expense["id"] == expense["expenseid"] and expense["categoryid"] == internal["id"]
    assert expense["amount"] == {"amount": "12.30", "code": "USD"} and expense["vendor"] == "Cafe"


def test_it_keeps_businesses_apart(db):
    demo = seed_demo(businesses=2)
    records.create(demo.businesses[1], KINDS["client"], {"organization": "Only In Europe"})
    bookkeeper = add_identity(5002, "Book", "Keeper", "keeper@demo-books.example")
    add_business(bookkeeper, "DEMO01", 770001, "Demo Books Ltd", role="business_employee")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(bookkeeper, None, '')['access_token']}")
    assert api.get(f"{BASE}/DEMO02/users/clients").status_code == 403
    assert api.get(f"{BASE}/NOPE99/users/clients").status_code == 403
    assert api.get(f"{BASE}/DEMO02/invoices/invoices/100001").status_code == 403
    own = result(api.get(f"{BASE}/DEMO01/users/clients"))["clients"]
    assert "Only In Europe" not in {c["organization"] for c in own}
    callbacks = api.get("/sandbox/freshbooks/api/events/account/DEMO02/events/callbacks")
    assert callbacks.status_code == 403


def test_it_enforces_scopes(demo):
    read_only = issue_tokens(demo.identity, None, "user:profile:read user:invoices:read")["access_token"]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {read_only}")
    assert api.get(f"{BASE}/DEMO01/invoices/invoices").status_code == 200
    assert api.get(f"{BASE}/DEMO01/users/clients").status_code == 403
    denied = post(api, "invoices/invoices", {"invoice": {"customerid": client_id(), "amount": "5"}})
    assert denied.status_code == 403 and "user:invoices:write" in denied.json()["error_description"]


def test_it_answers_without_a_token_with_401(demo):
    response = Client().get(f"{BASE}/DEMO01/invoices/invoices")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_it_can_answer_an_error_with_http_200_when_that_fault_is_queued(demo, api):
    """FreshBooks sometimes sends errors with HTTP 200 (vendors doc trap 10): a status fault does it."""
    body = {
        "response": {
            "errors": [
                {"errno": 1012, "field": "userid", "message": "Client not found.", "object": "client", "value": "1"}
            ]
        }
    }
    faults.add(PROVIDER, status=200, body=body, match="GET /sandbox/freshbooks/api/accounting/")
    response = api.get(f"{BASE}/DEMO01/users/clients/{client_id()}")
    assert response.status_code == 200 and response.json() == body
    assert api.get(f"{BASE}/DEMO01/users/clients/{client_id()}").json()["response"]["result"]["client"]


def test_it_emulates_a_rate_limit_only_when_configured(demo, api, settings):
    for _ in range(5):
        assert api.get(f"{BASE}/DEMO01/users/clients").status_code == 200
    settings.FRESHBOOKS_SANDBOX_RATE_LIMIT = (2, 60)
    codes = [api.get(f"{BASE}/DEMO01/users/clients").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# --- ml-connector's FreshBooksClient against the fake, in process ----------------------------------


@pytest.fixture
def conn(demo, issued):
    return ConnectionFactory(
        config={"account_id": "DEMO01", "business_name": "Demo Books Ltd"},
        credentials={"access_token": issued["access_token"], "refresh_token": issued["refresh_token"]},
    )


def test_our_client_pages_through_more_than_100_records(demo, conn):
    account = demo.businesses[0]
    for _ in range(105):
        new_invoice(account)
    fb = FreshBooksClient(conn)
    page, pages = fb.list_page("DEMO01", "invoice", per_page=500)
    assert len(page) == 100 and pages == 2
    everything = list(fb.iter_records("DEMO01", "invoice"))
    assert len(everything) == 105 and len({i["id"] for i in everything}) == 105


def test_our_client_reads_me_and_records_and_creates_payments(demo, conn):
    invoice = new_invoice(demo.businesses[0], "99.99")
    fb = FreshBooksClient(conn)
    assert fb.me()["business_memberships"][0]["business"]["account_id"] == "DEMO01"
    assert fb.get_record("DEMO01", "invoice", invoice["id"])["invoice_number"] == invoice["invoice_number"]
    payment = fb.create_payment(
        "DEMO01",
        invoice_id=invoice["id"],
        amount=Decimal("99.99"),
        day=date(2026, 5, 1),
        payment_type="Bank Transfer",
        note="GC PM123",
    )
    assert payment["logid"] == payment["id"]
    assert fb.find_payments("DEMO01", invoice["id"])[0]["note"] == "GC PM123"
    assert fb.get_record("DEMO01", "invoice", invoice["id"])["v3_status"] == "paid"


def test_our_client_raises_not_found_for_a_missing_record(conn):
    with pytest.raises(NotFound):
        FreshBooksClient(conn).get_record("DEMO01", "client", 424242)


def test_our_client_reads_an_error_sent_with_http_200_as_the_error_it_is(conn):
    not_found = {
        "response": {
            "errors": [
                {
                    "errno": 1012,
                    "field": "invoiceid",
                    "message": "Invoice not found.",
                    "object": "invoice",
                    "value": "7",
                }
            ]
        }
    }
    rejected = {
        "response": {
            "errors": [
                {"errno": 2010, "field": "amount", "message": "Amount is invalid.", "object": "payment", "value": "x"}
            ]
        }
    }
    faults.add(PROVIDER, status=200, body=not_found)
    with pytest.raises(NotFound):
        FreshBooksClient(conn).get_record("DEMO01", "invoice", 7)
    faults.add(PROVIDER, status=200, body=rejected)
    with pytest.raises(Rejected):
        FreshBooksClient(conn).list_page("DEMO01", "payment")


def test_our_client_raises_unauthorized_when_every_token_is_revoked(demo, conn):
    tokens.revoke_account(PROVIDER, demo.identity)
    with pytest.raises(Unauthorized):
        FreshBooksClient(conn).me()
    conn.refresh_from_db()
    assert conn.status == Connection.Status.NEEDS_RECONNECT


def test_our_client_refreshes_an_expired_token_and_the_old_refresh_token_dies(demo, conn, issued):
    SandboxToken.objects.filter(kind="access").update(expires_at=timezone.now())
    me = FreshBooksClient(conn).me()
    assert me["identity_id"] == 5001
    conn.refresh_from_db()
    fresh = conn.secrets()
    assert fresh["refresh_token"] != issued["refresh_token"]
    assert tokens.find(PROVIDER, "refresh", issued["refresh_token"]).used_at is not None
    assert FreshBooksClient(conn).me()["identity_id"] == 5001


def test_our_client_raises_rate_limited_on_a_429(conn):
    faults.add(PROVIDER, status=429, body={"errno": 429, "message": "Too many requests."})
    with pytest.raises(RateLimited):
        FreshBooksClient(conn).list_page("DEMO01", "invoice")


def test_our_client_raises_unavailable_when_freshbooks_times_out(conn):
    faults.add(PROVIDER, SandboxFault.Kind.TIMEOUT, times=3)
    with pytest.raises(Unavailable):
        FreshBooksClient(conn).list_page("DEMO01", "invoice")


def test_our_client_retries_a_single_5xx_on_a_read(conn):
    faults.add(PROVIDER, status=503, body={"errno": 503, "message": "unavailable"})
    assert FreshBooksClient(conn).list_page("DEMO01", "client")[0]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, "RateLimited"),
        (503, "Unavailable"),
        (403, "Forbidden"),
        (401, "Unauthorized"),
        (200, "Rejected"),
        (400, "Rejected"),
    ],
)
def test_it_lets_the_http_status_decide_before_the_error_envelope(status, expected):
    import requests

    from integrations.freshbooks.client import FreshBooksClient
    from mlconnector import http

    response = requests.Response()
    response.status_code = status
    response.request = requests.Request("GET", "http://x").prepare()
    body = {"response": {"errors": [{"errno": 1000, "message": "Something is wrong."}]}}
    with pytest.raises(getattr(http, expected)):
        FreshBooksClient().classify(response, body)
