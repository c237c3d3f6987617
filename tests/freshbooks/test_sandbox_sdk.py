"""The official FreshBooks SDK (freshbooks-sdk), pointed at the sandbox, works unchanged.

FreshBooks wrote the SDK against the real API, so it is the outside witness that the fake speaks
FreshBooks' protocol and not just what our own client expects. It opens real sockets (requests,
with its own retry adapter), hence live_server and a transactional database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from django.conf import settings
from freshbooks import Client as FreshBooksClient
from freshbooks import FilterBuilder, IncludesBuilder, PaginateBuilder
from freshbooks.errors import FreshBooksError

from integrations.freshbooks.sandbox import seed_demo
from integrations.freshbooks.sandbox.state import PROVIDER, sign
from integrations.sandbox import delivery, tokens

REDIRECT = "https://sdk-app.example/freshbooks/callback"
HOOK = "https://sdk-app.example/freshbooks/webhooks"


@pytest.fixture
def sandbox(live_server, monkeypatch, transactional_db):
    # The SDK reads these two at Client() time (freshbooks/client.py).
    monkeypatch.setenv("FRESHBOOKS_API_URL", f"{live_server.url}/sandbox/freshbooks/api")
    monkeypatch.setenv("FRESHBOOKS_AUTH_URL", f"{live_server.url}/sandbox/freshbooks/auth")
    demo = seed_demo(businesses=2)
    app = tokens.app_for(PROVIDER, settings.FRESHBOOKS_CLIENT_ID)
    app.redirect_uris = [*app.redirect_uris, REDIRECT]
    app.save()
    return demo


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str, dict]]:
    # The live server runs in this process, so the fake's webhooks are captured here.
    captured: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(delivery, "send_later", lambda url, body, headers: captured.append((url, body, headers)))
    return captured


def new_sdk() -> FreshBooksClient:
    return FreshBooksClient(
        client_id=settings.FRESHBOOKS_CLIENT_ID, client_secret=settings.FRESHBOOKS_CLIENT_SECRET, redirect_uri=REDIRECT
    )


def click_allow(url: str) -> str:
    """What a person does in a browser: open the consent page, press Allow; returns the code."""
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert page.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
    allowed = browser.post(
        url,
        data={"csrfmiddlewaretoken": csrf, "identity": "5001", "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert allowed.status_code == 302
    location = urlsplit(allowed.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)["code"][0]


def signed_in(sdk: FreshBooksClient) -> FreshBooksClient:
    url = sdk.get_auth_request_url()
    sdk.get_access_token(click_allow(url))
    return sdk


def test_it_completes_the_sdks_oauth_flow_and_rotates_refresh_tokens(sandbox, live_server):
    sdk = new_sdk()
    url = sdk.get_auth_request_url(scopes=["user:profile:read", "user:invoices:read", "user:payments:write"])
    assert url.startswith(f"{live_server.url}/sandbox/freshbooks/auth/oauth/authorize?")

    issued = sdk.get_access_token(click_allow(url))
    assert issued.access_token and issued.refresh_token
    lifetime = issued.access_token_expires_at - datetime.now(UTC)
    assert timedelta(hours=11, minutes=58) < lifetime <= timedelta(hours=12)

    first_refresh = sdk.refresh_token
    renewed = sdk.refresh_access_token()
    assert renewed.refresh_token != first_refresh and renewed.access_token != issued.access_token
    with pytest.raises(FreshBooksError, match="already used"):
        sdk.refresh_access_token(first_refresh)
    with pytest.raises(FreshBooksError):
        new_sdk().get_access_token("a-code-that-was-never-issued")


def test_it_serves_the_sdks_identity_and_accounting_calls(sandbox):
    sdk = signed_in(new_sdk())
    me = sdk.current_user()
    assert me.identity_id == 5001 and me.full_name == "Demo Owner"
    assert [m.business.account_id for m in me.business_memberships] == ["DEMO01", "DEMO02"]

    created = sdk.clients.create("DEMO01", {"organization": "SDK Client Ltd", "email": "ap@sdk-client.example"})
    assert created.userid == created.id and created.organization == "SDK Client Ltd"
    clients = sdk.clients.list("DEMO01", builders=[PaginateBuilder(1, 500)])
    assert clients.pages.per_page == 100 and clients.pages.total == 3
    assert "SDK Client Ltd" in {c.organization for c in clients}

    invoice = sdk.invoices.create(
        "DEMO01",
        {
            "customerid": created.id,
            "create_date": "2026-01-05",
            "lines": [{"name": "Consulting", "qty": 3, "unit_cost": {"amount": "50.00", "code": "USD"}}],
        },
    )
    assert invoice.invoiceid == invoice.id and invoice.amount.amount == "150.00"
    listed = sdk.invoices.list("DEMO01")
    assert listed.pages.total == 1 and listed[0].id == invoice.id
    got = sdk.invoices.get("DEMO01", invoice.id, includes=IncludesBuilder().include("lines"))
    assert got.data["lines"][0]["qty"] and got.outstanding.amount == "150.00"

    payment = sdk.payments.create(
        "DEMO01", {"invoiceid": invoice.id, "amount": {"amount": "150.00"}, "date": "2026-01-06", "type": "Check"}
    )
    assert payment.logid == payment.id and "paymentid" not in payment.data
    assert sdk.invoices.get("DEMO01", invoice.id).v3_status == "paid"
    found = sdk.payments.list("DEMO01", builders=[FilterBuilder().equals("invoiceid", invoice.id)])
    assert [p.id for p in found] == [payment.id]

    with pytest.raises(FreshBooksError) as missing:
        sdk.clients.get("DEMO01", 999999)
    assert (missing.value.status_code, missing.value.error_code, str(missing.value)) == (
        404,
        1012,
        "Client not found.",
    )

    stranger = FreshBooksClient(client_id=settings.FRESHBOOKS_CLIENT_ID, access_token="not-a-real-token")
    with pytest.raises(FreshBooksError) as refused:
        stranger.current_user()
    assert refused.value.status_code == 401 and refused.value.error_code == "unauthenticated"


def test_it_serves_the_sdks_webhook_callback_calls(sandbox, sent):
    sdk = signed_in(new_sdk())
    callback = sdk.callbacks.create("DEMO01", {"event": "invoice.create", "uri": HOOK})
    assert callback.verified is False and callback.uri == HOOK
    [(url, body, _)] = sent
    verification = dict(parse_qsl(body))
    assert url == HOOK and verification["name"] == "callback.verify"
    assert verification["object_id"] == str(callback.callbackid)

    verified = sdk.callbacks.verify("DEMO01", callback.callbackid, verification["verifier"])
    assert verified.verified is True
    assert [c.callbackid for c in sdk.callbacks.list("DEMO01")] == [callback.callbackid]
    assert sdk.callbacks.get("DEMO01", callback.callbackid).event == "invoice.create"

    client_id = sdk.clients.list("DEMO01")[0].id
    invoice = sdk.invoices.create("DEMO01", {"customerid": client_id, "lines": [{"unit_cost": {"amount": "5.00"}}]})
    url, body, headers = sent[-1]
    fields = dict(parse_qsl(body))
    assert url == HOOK and fields["name"] == "invoice.create" and fields["object_id"] == str(invoice.id)
    assert headers["X-FreshBooks-Hmac-SHA256"] == sign(fields, verification["verifier"])

    with pytest.raises(FreshBooksError) as invalid:
        sdk.callbacks.create("DEMO01", {"event": "invoice.paid", "uri": HOOK})
    assert invalid.value.status_code == 422
    assert invalid.value.error_details == ["event: Value error, Unrecognized event."]

    sdk.callbacks.resend_verification("DEMO01", callback.callbackid)
    assert dict(parse_qsl(sent[-1][1]))["verifier"] != verification["verifier"]
    assert sdk.callbacks.delete("DEMO01", callback.callbackid).data == {}
    with pytest.raises(FreshBooksError) as gone:
        sdk.callbacks.get("DEMO01", callback.callbackid)
    assert gone.value.status_code == 404 and str(gone.value) == "Requested resource could not be found."
