"""The official `gocardless-pro` client and `gocardless_pro.webhooks.parse`, unchanged, against the
sandbox: what the fake answers is what GoCardless's own library expects."""

from __future__ import annotations

import json

import gocardless_pro
import pytest
import requests
from gocardless_pro import webhooks
from gocardless_pro.errors import IdempotentCreationConflictError, InvalidSignatureError

from integrations.gocardless.sandbox import issue_token, seed_demo
from integrations.gocardless.sandbox.state import rows, set_webhook_endpoint
from integrations.sandbox.inprocess import InProcessAdapter

pytestmark = pytest.mark.django_db
HOST = "http://api-sandbox.gocardless.test"


class _Requests:
    """What the SDK calls as `requests.get/post/put/delete`: a session whose adapter serves the
    fake's host at the root, as api-sandbox.gocardless.com does (the SDK joins "/payments" onto
    the host, so the fake must be at a host's root)."""

    def __init__(self):
        self.session = requests.Session()
        adapter = InProcessAdapter()
        prefix = "/sandbox/gocardless/sandbox"
        original = adapter.send

        def send(request, **kwargs):
            request.url = request.url.replace(HOST, "http://testserver" + prefix, 1)
            return original(request, **kwargs)

        adapter.send = send
        self.session.mount(HOST, adapter)
        for verb in ("get", "post", "put", "delete"):
            setattr(self, verb, getattr(self.session, verb))

    def __getattr__(self, name):
        return getattr(requests, name)


@pytest.fixture
def sdk(monkeypatch):
    from gocardless_pro import api_client

    monkeypatch.setattr(api_client, "requests", _Requests())
    demo = seed_demo()
    return gocardless_pro.Client(access_token=issue_token(demo.sandbox), base_url=HOST), demo


def test_the_official_client_lists_creates_and_pages_against_the_fake(sdk):
    client, demo = sdk
    creditor = client.creditors.list().records[0]
    assert creditor.name == "Demo Books Ltd"
    mandate = next(m for m in client.mandates.all(params={"status": "active"}))
    payment = client.payments.create(
        params={"amount": 1250, "currency": "USD", "links": {"mandate": mandate.id}, "metadata": {"fb_invoice": "1"}},
        headers={"Idempotency-Key": "sdk-key-1"},
    )
    assert payment.status == "pending_submission" and payment.amount == 1250
    # The SDK turns our 409 into the payment already made, as it does with GoCardless.
    again = client.payments.create(
        params={"amount": 1250, "currency": "USD", "links": {"mandate": mandate.id}},
        headers={"Idempotency-Key": "sdk-key-1"},
    )
    assert again.id == payment.id
    strict = gocardless_pro.Client(
        access_token=client._api_client.access_token, base_url=HOST, raise_on_idempotency_conflict=True
    )
    with pytest.raises(IdempotentCreationConflictError) as exc:
        strict.payments.create(
            params={"amount": 1250, "currency": "USD", "links": {"mandate": mandate.id}},
            headers={"Idempotency-Key": "sdk-key-1"},
        )
    assert exc.value.conflicting_resource_id == payment.id
    events = list(client.events.all(params={"limit": 2}))  # follows `after` cursors to the end
    assert len(events) == rows(demo.sandbox, "event").count()
    assert client.payments.get(payment.id).links.mandate == mandate.id
    assert client._api_client.rate_limit.limit == 1000 and client._api_client.rate_limit.remaining is not None


def test_webhooks_parse_accepts_the_fakes_signed_batches(sdk, tenant_a):
    client, demo = sdk
    captured = []

    import integrations.sandbox.delivery as delivery

    def capture(url, body, headers):
        captured.append((body, headers))
        return 200

    secret = set_webhook_endpoint(demo.sandbox, "http://example.test/hook")
    mandate = next(m for m in client.mandates.all(params={"status": "active"}))
    real = delivery.send_later
    delivery.send_later = capture
    try:
        client.payments.create(params={"amount": 100, "currency": "USD", "links": {"mandate": mandate.id}})
    finally:
        delivery.send_later = real
    body, headers = captured[-1]
    body = body.encode() if isinstance(body, str) else body
    events = webhooks.parse(body, secret, headers["Webhook-Signature"])
    assert any(e.resource_type == "payments" and e.action == "created" for e in events)
    assert headers["Origin"] == "https://api-sandbox.gocardless.com"
    with pytest.raises(InvalidSignatureError):
        webhooks.parse(body, "another-secret", headers["Webhook-Signature"])
    assert len(json.loads(body)["events"]) <= 250
