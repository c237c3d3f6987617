"""The FreshBooks sandbox's events API: callbacks, the callback.verify handshake, signed webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qsl

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from integrations.freshbooks.sandbox import records as records
from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import KINDS, PROVIDER, business, issue_tokens, rows
from integrations.sandbox import delivery, tokens
from integrations.sandbox.models import SandboxObject
from tests.freshbooks.vendor import spec

CALLBACKS = "/sandbox/freshbooks/api/events/account/DEMO01/events/callbacks"
ACCOUNTING = "/sandbox/freshbooks/api/accounting/account/DEMO01"
HOOK = "https://hooks.example.test/freshbooks/abc"


@pytest.fixture
def demo(db):
    return seed_demo()


@pytest.fixture
def api(demo) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_tokens(demo.identity, None, '')['access_token']}")


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, dict]]:
    """Every webhook the fake hands to the worker queue, instead of sending it."""
    captured: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(delivery, "send_later", lambda url, body, headers: captured.append((url, body, headers)))
    return captured


def register(api: Client, event: str = "invoice.create", uri: str = HOOK):
    return api.post(CALLBACKS, {"callback": {"event": event, "uri": uri}}, content_type="application/json")


def verifier_of(sent: list, callback_id: int) -> str:
    fields = [dict(parse_qsl(body)) for _, body, _ in sent]
    return next(f["verifier"] for f in reversed(fields) if f.get("object_id") == str(callback_id))


def put(api: Client, callback_id: int, body: dict):
    return api.put(f"{CALLBACKS}/{callback_id}", {"callback": body}, content_type="application/json")


def verified_callback(api: Client, sent: list, event: str, uri: str = HOOK) -> int:
    callback_id = register(api, event, uri).json()["response"]["result"]["callback"]["callbackid"]
    assert put(api, callback_id, {"verifier": verifier_of(sent, callback_id)}).status_code == 200
    return callback_id


def independent_signature(body: str, verifier: str) -> str:
    # FreshBooks' reference: json.dumps(dict((k, str(v)) for k, v in request.form.items())), HMAC-SHA256, base64.
    message = json.dumps(dict(parse_qsl(body, keep_blank_values=True)))
    return base64.b64encode(hmac.new(verifier.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_it_registers_a_callback_and_posts_the_verification_to_its_uri(api, sent):
    response = register(api)
    assert response.status_code == 200
    callback = response.json()["response"]["result"]["callback"]
    assert set(callback) == set(spec("get_callback_response.json")["response"]["result"]["callback"])
    assert callback["verified"] is False and callback["event"] == "invoice.create" and callback["uri"] == HOOK
    assert isinstance(callback["callbackid"], int) and callback["updated_at"].endswith("Z")

    [(url, body, headers)] = sent
    assert url == HOOK
    fields = parse_qsl(body)
    assert [k for k, _ in fields] == ["name", "object_id", "verifier", "account_id", "system", "user_id"]
    fields = dict(fields)
    assert fields["name"] == "callback.verify" and fields["object_id"] == str(callback["callbackid"])
    assert fields["account_id"] == "DEMO01" and fields["user_id"] == "1" and fields["system"].startswith("https://")
    assert len(fields["verifier"]) >= 20
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["User-Agent"].startswith("FreshHooks/0.4")
    assert "X-FreshBooks-Hmac-SHA256" not in headers


def test_it_keeps_the_verifier_encrypted_and_out_of_the_record(api, sent):
    callback_id = register(api).json()["response"]["result"]["callback"]["callbackid"]
    verifier = verifier_of(sent, callback_id)
    row = SandboxObject.objects.get(kind="callback")
    assert row.secret == verifier
    assert verifier not in json.dumps(row.data)
    with connection.cursor() as cur:
        cur.execute("SELECT secret FROM sandbox_sandboxobject WHERE id = %s", [row.pk])
        raw = bytes(cur.fetchone()[0])
    assert verifier.encode() not in raw


def test_it_refuses_an_unrecognized_event_and_a_bad_uri_like_freshbooks(api, sent):
    response = register(api, event="invoice.paid", uri="not a url")
    assert response.status_code == 422
    assert response.json() == spec("create_callback_response__validation_error.json")
    only_event = register(api, event="invoices")
    assert only_event.json()["details"] == ["event: Value error, Unrecognized event."]
    assert not rows(business("DEMO01"), "callback").exists() and sent == []


@pytest.mark.parametrize(
    "event", ["invoice", "invoice.create", "payment.update", "time_entry.delete", "invoice.sendByEmail", "bill_vendor"]
)
def test_it_accepts_the_documented_event_names(api, sent, event):
    assert register(api, event=event).status_code == 200


def test_it_verifies_a_callback_only_with_its_own_verifier(api, sent):
    callback_id = register(api).json()["response"]["result"]["callback"]["callbackid"]
    wrong = put(api, callback_id, {"verifier": "not-the-verifier"})
    assert wrong.status_code == 422 and wrong.json()["errno"] == 422
    assert api.get(f"{CALLBACKS}/{callback_id}").json()["response"]["result"]["callback"]["verified"] is False

    right = put(api, callback_id, {"verifier": verifier_of(sent, callback_id)})
    assert right.status_code == 200
    assert right.json()["response"]["result"]["callback"]["verified"] is True


def test_it_resends_a_new_verifier_and_forgets_the_old_one(api, sent):
    callback_id = register(api).json()["response"]["result"]["callback"]["callbackid"]
    old = verifier_of(sent, callback_id)
    resent = put(api, callback_id, {"resend": True})
    assert resent.status_code == 200 and len(sent) == 2
    new = verifier_of(sent, callback_id)
    assert new != old
    assert put(api, callback_id, {"verifier": old}).status_code == 422
    assert put(api, callback_id, {"verifier": new}).status_code == 200
    assert put(api, callback_id, {"uri": "https://elsewhere.example"}).status_code == 422


def test_it_lists_gets_and_deletes_callbacks(api, sent):
    kept = verified_callback(api, sent, "invoice.create")
    parent = register(api, "invoice").json()["response"]["result"]["callback"]["callbackid"]
    other = register(api, "payment.create").json()["response"]["result"]["callback"]["callbackid"]

    listed = api.get(CALLBACKS).json()["response"]["result"]
    assert set(listed) == set(spec("list_callbacks_response.json")["response"]["result"])
    assert [c["callbackid"] for c in listed["callbacks"]] == [kept, parent, other]
    assert [c["verified"] for c in listed["callbacks"]] == [True, False, False]
    invoice_ones = api.get(CALLBACKS, {"search[event]": "invoice"}).json()["response"]["result"]["callbacks"]
    assert [c["callbackid"] for c in invoice_ones] == [kept, parent]

    one = api.get(f"{CALLBACKS}/{kept}")
    assert one.json()["response"]["result"]["callback"]["callbackid"] == kept
    deleted = api.delete(f"{CALLBACKS}/{other}")
    assert deleted.status_code == 204 and deleted.content == b""
    gone = api.get(f"{CALLBACKS}/{other}")
    assert gone.status_code == 404 and gone.json() == spec("get_callback_response__not_found.json")
    assert api.put(f"{CALLBACKS}/999999", {}, content_type="application/json").status_code == 404


def test_it_answers_the_events_api_without_a_token_like_freshbooks(demo):
    response = Client().get(CALLBACKS)
    assert response.status_code == 401
    assert response.json() == spec("get_callback_response__no_auth.json")


def test_it_signs_each_change_for_the_verified_callbacks_of_the_event_or_its_parent(demo, api, sent):
    verified_callback(api, sent, "invoice.create", "https://hooks.example.test/exact")
    verified_callback(api, sent, "invoice", "https://hooks.example.test/parent")
    register(api, "invoice.create", "https://hooks.example.test/unverified")
    verified_callback(api, sent, "payment.create", "https://hooks.example.test/payments")
    verifiers = {url: dict(parse_qsl(body)).get("verifier") for url, body, _ in sent}
    sent.clear()

    client = next(r.data for r in rows(demo.businesses[0], "client"))
    created = api.post(
        f"{ACCOUNTING}/invoices/invoices",
        {"invoice": {"customerid": client["id"], "amount": {"amount": "25.00"}}},
        content_type="application/json",
    )
    invoice = created.json()["response"]["result"]["invoice"]

    assert sorted(url for url, _, _ in sent) == [
        "https://hooks.example.test/exact",
        "https://hooks.example.test/parent",
    ]
    for url, body, headers in sent:
        fields = parse_qsl(body)
        assert [k for k, _ in fields] == ["name", "object_id", "account_id", "business_id", "identity_id", "user_id"]
        assert dict(fields) == {
            "name": "invoice.create",
            "object_id": str(invoice["id"]),
            "account_id": "DEMO01",
            "business_id": "770001",
            "identity_id": "5001",
            "user_id": "1",
        }
        assert headers["X-FreshBooks-Hmac-SHA256"] == independent_signature(body, verifiers[url])
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_it_announces_a_payment_and_the_invoice_it_changed(demo, api, sent):
    verified_callback(api, sent, "payment")
    verified_callback(api, sent, "invoice.update")
    sent.clear()
    client = next(r.data for r in rows(demo.businesses[0], "client"))
    invoice, _ = records.create(demo.businesses[0], KINDS["invoice"], {"customerid": client["id"], "amount": "10"})
    payment = api.post(
        f"{ACCOUNTING}/payments/payments",
        {"payment": {"invoiceid": invoice["id"], "amount": {"amount": "10.00"}}},
        content_type="application/json",
    ).json()["response"]["result"]["payment"]
    names = [(dict(parse_qsl(body))["name"], dict(parse_qsl(body))["object_id"]) for _, body, _ in sent]
    assert names == [("payment.create", str(payment["id"])), ("invoice.update", str(invoice["id"]))]


def test_it_announces_a_soft_delete_as_a_delete_event(demo, api, sent):
    verified_callback(api, sent, "client")
    sent.clear()
    client = next(r.data for r in rows(demo.businesses[0], "client"))
    response = api.put(
        f"{ACCOUNTING}/users/clients/{client['id']}", {"client": {"vis_state": 1}}, content_type="application/json"
    )
    assert response.json()["response"]["result"]["client"]["vis_state"] == 1
    assert [dict(parse_qsl(body))["name"] for _, body, _ in sent] == ["client.delete"]


def test_it_completes_the_handshake_with_ml_connectors_own_receiver(demo):
    """No capture here: the fake really POSTs callback.verify to /hooks/, ml-connector PUTs it back.

    The fake POSTs the handshake before it answers the create call (in-process, inline tasks), so
    this also shows a code that arrives while ml-connector is registering is kept, then claimed."""
    from integrations.freshbooks.callbacks import ensure_callbacks
    from integrations.freshbooks.models import FreshBooksCallback
    from mlconnector.webhooks.models import InboundEvent
    from tests.factories import ConnectionFactory

    issued = issue_tokens(demo.identity, tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID), "")
    conn = ConnectionFactory(
        config={"account_id": "DEMO01"},
        credentials={"access_token": issued["access_token"], "refresh_token": issued["refresh_token"]},
    )
    ensure_callbacks(conn.pk)
    ours = FreshBooksCallback.objects.get(connection=conn, event="invoice.create")
    fake = SandboxObject.objects.get(kind="callback", object_id=ours.callback_id)
    assert fake.data["verified"] is True
    assert ours.verified and ours.verifier == fake.secret

    client = next(r.data for r in rows(demo.businesses[0], "client"))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {issued['access_token']}")
    api.post(
        f"{ACCOUNTING}/invoices/invoices",
        {"invoice": {"customerid": client["id"], "amount": {"amount": "42.00"}}},
        content_type="application/json",
    )
    assert InboundEvent.objects.filter(connection=conn, event_type="invoice.create").count() == 1
