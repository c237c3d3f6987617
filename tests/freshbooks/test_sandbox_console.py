"""The FreshBooks sandbox's console: a person creates records there and the signed webhooks go out."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from django.urls import reverse

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import KINDS, rows, save_new, sign, today
from integrations.sandbox import delivery

HOME = "/sandbox/freshbooks/"
VERIFIER = "console-test-verifier-not-secret"


@pytest.fixture
def demo(db):
    return seed_demo()


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, dict]]:
    captured: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(delivery, "send_later", lambda url, body, headers: captured.append((url, body, headers)))
    return captured


def listen(account, event: str, verified: bool = True) -> None:
    """A callback registered (and verified) by someone, as ml-connector would."""
    data = {"event": event, "uri": f"https://hooks.example.test/{event}", "verified": verified, "updated_at": ""}
    row = save_new(account, KINDS["callback"], data)
    row.secret = VERIFIER
    row.save()


def action(name: str, account_id: str = "DEMO01") -> str:
    return reverse("sandbox-freshbooks-console-action", args=[account_id, name])


def first(account, kind: str, **equals) -> dict:
    return next(r.data for r in rows(account, kind) if all(r.data.get(k) == v for k, v in equals.items()))


def test_it_is_the_page_the_sandbox_index_links_to(demo, client):
    assert reverse("sandbox-freshbooks-home") == HOME
    index = client.get("/sandbox/")
    assert index.status_code == 200 and f'href="{HOME}"' in index.content.decode()


def test_it_renders_without_an_ml_connector_login_with_a_label_for_every_input(demo, client):
    response = client.get(HOME)
    assert response.status_code == 200
    html = response.content.decode()
    for title in ("Create an invoice", "Record a payment", "Create a client", "Create a bill", "Record an expense"):
        assert title in html
    assert "Northwind Traders" in html and "DEMO01" in html and "Webhook callbacks" in html
    inputs = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert inputs and set(inputs) <= labelled


def test_it_explains_itself_before_anything_is_seeded(db, client):
    response = client.get(HOME)
    assert response.status_code == 200 and "seed_demo" in response.content.decode()


def test_it_switches_between_businesses(db, client):
    seed_demo(businesses=2)
    html = client.get(HOME, {"account": "DEMO02"}).content.decode()
    assert '<option value="DEMO02" selected>' in html and "Demo Books Europe GmbH" in html


def test_it_creates_an_invoice_and_sends_the_signed_webhook(demo, client, sent):
    account = demo.businesses[0]
    listen(account, "invoice.create")
    listen(account, "invoice.update")  # a different event: not told about a create
    listen(account, "invoice", verified=False)  # not verified: told nothing
    northwind = first(account, "client", organization="Northwind Traders")
    due = (today() + timedelta(days=14)).isoformat()
    response = client.post(
        action("invoice"),
        {"invoice-customerid": northwind["id"], "invoice-amount": "180.00", "invoice-currency_code": "USD"}
        | {"invoice-due_date": due},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 signed webhook sent" in response.content.decode()
    invoice = first(account, "invoice")
    assert invoice["amount"] == {"amount": "180.00", "code": "USD"} and invoice["due_date"] == due
    assert invoice["customerid"] == northwind["id"] and invoice["v3_status"] == "sent"

    [(url, body, headers)] = sent
    assert url == "https://hooks.example.test/invoice.create"
    fields = dict(parse_qsl(body))
    assert fields == {
        "name": "invoice.create",
        "object_id": str(invoice["id"]),
        "account_id": "DEMO01",
        "business_id": "770001",
        "identity_id": "5001",
        "user_id": "1",
    }
    assert headers["X-FreshBooks-Hmac-SHA256"] == sign(fields, VERIFIER)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "greater than zero"),
        ("0", "greater than zero"),
        ("10.001", "at most 2 decimal places"),
        ("ten", "such as 120.00"),
        ("", "This field is required"),
    ],
)
def test_it_refuses_a_bad_amount_next_to_the_field_and_creates_nothing(demo, client, sent, amount, message):
    listen(demo.businesses[0], "invoice")
    northwind = first(demo.businesses[0], "client", organization="Northwind Traders")
    response = client.post(
        action("invoice"),
        {"invoice-customerid": northwind["id"], "invoice-amount": amount, "invoice-currency_code": "USD"}
        | {"invoice-due_date": today().isoformat()},
    )
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(r'<p class="error-text" id="id_invoice-amount-error">([^<]*)</p>', html)
    assert error and message in error[1]
    assert re.search(r'id="id_invoice-amount"[^>]*aria-describedby="id_invoice-amount-error"', html) or re.search(
        r'aria-describedby="id_invoice-amount-error"[^>]*id="id_invoice-amount"', html
    )
    assert not rows(demo.businesses[0], "invoice").exists() and sent == []


def test_it_refuses_a_due_date_before_today_without_creating_anything(demo, client):
    northwind = first(demo.businesses[0], "client", organization="Northwind Traders")
    response = client.post(
        action("invoice"),
        {"invoice-customerid": northwind["id"], "invoice-amount": "5.00", "invoice-currency_code": "USD"}
        | {"invoice-due_date": (today() - timedelta(days=1)).isoformat()},
    )
    assert response.status_code == 400
    assert 'id="id_invoice-due_date-error"' in response.content.decode()
    assert not rows(demo.businesses[0], "invoice").exists()


def test_it_records_a_payment_against_an_invoice(demo, client, sent):
    account = demo.businesses[0]
    listen(account, "payment.create")
    northwind = first(account, "client", organization="Northwind Traders")
    client.post(
        action("invoice"),
        {"invoice-customerid": northwind["id"], "invoice-amount": "100.00", "invoice-currency_code": "USD"}
        | {"invoice-due_date": today().isoformat()},
    )
    invoice = first(account, "invoice")
    page = client.get(HOME).content.decode()
    assert f'<option value="{invoice["id"]}">' in page

    response = client.post(
        action("payment"),
        {"payment-invoiceid": invoice["id"], "payment-amount": "100.00", "payment-type": "Bank Transfer"}
        | {"payment-date": today().isoformat()},
    )
    assert response.status_code == 302
    assert first(account, "invoice")["status"] == 4
    [(_, body, _)] = sent
    assert dict(parse_qsl(body))["name"] == "payment.create"


def test_it_creates_a_client_a_bill_with_a_new_vendor_and_an_internal_expense(demo, client, sent):
    account = demo.businesses[0]
    for event in ("client", "bill", "bill_vendor", "expense"):
        listen(account, event)
    assert (
        client.post(action("client"), {"client-organization": "Initrode", "client-currency_code": "USD"}).status_code
        == 302
    )
    bill = client.post(
        action("bill"),
        {"bill-vendor_name": "Brand New Vendor", "bill-amount": "40.00", "bill-currency_code": "USD"}
        | {"bill-due_date": today().isoformat()},
    )
    assert bill.status_code == 302
    internal = first(account, "category", category="Internal")
    expense = client.post(
        action("expense"),
        {"expense-vendor": "Office cafe", "expense-amount": "12.50", "expense-categoryid": internal["id"]}
        | {"expense-date": today().isoformat(), "expense-notes": "team lunch"},
    )
    assert expense.status_code == 302

    assert first(account, "client", organization="Initrode")
    vendor = first(account, "bill_vendor", vendor_name="Brand New Vendor")
    assert first(account, "bill")["vendorid"] == vendor["id"]
    assert first(account, "expense")["categoryid"] == internal["id"]
    names = [dict(parse_qsl(body))["name"] for _, body, _ in sent]
    assert names == ["client.create", "bill_vendor.create", "bill.create", "expense.create"]


def test_it_reuses_an_existing_vendor_for_a_bill(demo, client, sent):
    account = demo.businesses[0]
    client.post(
        action("bill"),
        {"bill-vendor_name": "initech supplies", "bill-amount": "9.99", "bill-currency_code": "USD"}
        | {"bill-due_date": today().isoformat()},
    )
    assert rows(account, "bill_vendor").count() == 1


def test_it_refuses_an_unknown_business_or_action(demo, client):
    assert client.post(action("invoice", "NOPE99"), {}).status_code == 404
    assert client.post(action("teleport"), {}).status_code == 404
    assert client.get(action("invoice")).status_code == 405
