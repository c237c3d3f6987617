"""Webhooks in: the official signature vector, forged and truncated bodies refused with nothing
stored, a body of 250 events with one malformed, each event stored and processed once by its id,
unknown types acknowledged and recorded, and events handled in any order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.gocardless.sandbox import move_payment
from integrations.gocardless.sandbox.state import flush
from integrations.gocardless.signatures import sign, verify
from mlconnector.audit.models import AuditRecord
from mlconnector.contract import BadSignature
from mlconnector.webhooks.models import InboundEvent
from tests.gocardless.helpers import fb_payments, gc_payments, post_webhook, run_due, send_invoice, world
from tests.pipeline_helpers import audit_messages

pytestmark = pytest.mark.django_db
# GoCardless's published webhook body, vendored, signed with a fake secret (see the folder's README).
ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "integrations" / "gocardless" / "fixtures" / "vendor"
_VECTOR = json.loads((SPECS / "webhook_vector.json").read_text())
VECTOR_SECRET = _VECTOR["test_secret"]
VECTOR_SIGNATURE = _VECTOR["signature"]
# Where the vendor notes sit beside the repository, GoCardless's own vector (secret and signature) is
# read from them rather than copied into the repository.
VENDOR_NOTES = ROOT.parent / "shared" / "specs" / "README.md"


def event(n: int, resource="payments", action="confirmed", **links) -> dict:
    return {
        "id": f"EV{n:012d}",
        "created_at": "2026-11-30T09:00:00.000Z",
        "resource_type": resource,
        "action": action,
        "links": links or {"payment": f"PM{n:012d}"},
        "details": {"origin": "gocardless", "cause": "payment_confirmed", "description": "."},
        "metadata": {},
    }


def test_it_verifies_gocardless_s_published_vector_where_the_vendor_notes_are_at_hand():
    import re

    if not VENDOR_NOTES.exists():
        pytest.skip(f"{VENDOR_NOTES} is not beside this checkout; the fake-secret vector below still runs")
    found = re.search(r"secret `([^`]+)`.*?`Webhook-Signature` = `([0-9a-f]{64})`", VENDOR_NOTES.read_text())
    assert found, "the vendor notes no longer state GoCardless's webhook test vector"
    body = (SPECS / "webhook_body.json").read_bytes().strip()
    assert sign(body, found[1]) == found[2]
    verify(body, found[1], found[2])


def test_it_verifies_gocardless_s_body_and_refuses_any_change():
    body = (SPECS / "webhook_body.json").read_bytes().strip()
    assert sign(body, VECTOR_SECRET) == VECTOR_SIGNATURE
    verify(body, VECTOR_SECRET, VECTOR_SIGNATURE)
    with pytest.raises(BadSignature):
        verify(body + b" ", VECTOR_SECRET, VECTOR_SIGNATURE)
    with pytest.raises(BadSignature):
        verify(body, VECTOR_SECRET, VECTOR_SIGNATURE.upper()[:-1] + "0")


def test_the_official_body_is_accepted_through_the_receiver_and_its_events_stored_once(tenant_a):
    w = world(tenant_a)
    body = (SPECS / "webhook_body.json").read_bytes().strip()
    w.gc.credentials = {**w.gc.credentials, "webhook_secret": VECTOR_SECRET}
    w.gc.save(update_fields=["credentials"])
    assert post_webhook(w.gc, body, VECTOR_SECRET, signature=VECTOR_SIGNATURE).status_code == 200
    assert post_webhook(w.gc, body, VECTOR_SECRET, signature=VECTOR_SIGNATURE).status_code == 200  # a retry
    stored = InboundEvent.objects.filter(provider="gocardless", source="webhook")
    assert sorted(stored.values_list("event_type", flat=True)) == ["mandates.created", "subscriptions.created"]
    # Each event keeps its own bytes, not the whole body.
    assert json.loads(stored.get(event_type="mandates.created").raw_body)["id"] == "EV00BD05TB8K63"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body, sig: (body, "0" * 64),  # forged
        lambda body, sig: (body[:-10], sig),  # truncated in transit
        lambda body, sig: (body, ""),  # unsigned
        lambda body, sig: (body, sig.upper()),  # not GoCardless's lowercase hex
    ],
)
def test_a_forged_or_truncated_webhook_gets_401_and_nothing_is_stored(tenant_a, mangle):
    w = world(tenant_a)
    body = json.dumps({"events": [event(1)]}).encode()
    body, signature = mangle(body, sign(body, w.secret))
    response = post_webhook(w.gc, body, w.secret, signature=signature)
    assert response.status_code == 401
    assert not InboundEvent.objects.filter(provider="gocardless").exists()
    assert AuditRecord.objects.filter(kind="webhook.rejected", status_code=401).exists()


def test_without_a_secret_every_webhook_is_refused(tenant_a):
    from tests.gocardless.helpers import gc_connection

    conn, secret = gc_connection(tenant_a, secret=False)
    assert post_webhook(conn, [event(1)], secret).status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_body_of_250_events_with_one_malformed_keeps_the_249_and_records_the_bad_one(tenant_a):
    w = world(tenant_a)
    events = [event(n, "refunds", "created", refund=f"RF{n:012d}") for n in range(249)]
    for e in events:  # as large as real ones: details, metadata, notifications make a kilobyte or so
        e["details"]["description"] = "The customer's bank account details were confirmed. " * 14
    events.insert(120, {"id": 7, "action": None})
    import json as _json

    assert len(_json.dumps({"events": events})) > 150_000  # over the default webhook limit (64 KiB)
    response = post_webhook(w.gc, events, w.secret)
    assert response.status_code == 200
    stored = InboundEvent.objects.filter(provider="gocardless")
    assert stored.count() == 250
    assert stored.filter(event_type="malformed").count() == 1
    run_due()
    # Unknown types and the malformed one are acknowledged and recorded, never acted on.
    assert stored.filter(source="webhook", status="ignored").count() == 250
    assert "refunds.created is not an event ml-connector handles" in audit_messages(kind="event.ignored")
    assert "malformed is not an event ml-connector handles" in audit_messages(kind="event.ignored")


def test_a_body_that_is_not_json_or_has_no_events_is_400_and_stores_nothing(tenant_a):
    w = world(tenant_a)
    for body in (b"not json", b'{"events": []}', b'{"nothing": 1}'):
        assert post_webhook(w.gc, body, w.secret).status_code == 400
    assert not InboundEvent.objects.exists()


def test_replays_duplicates_and_out_of_order_events_post_exactly_one_freshbooks_payment(tenant_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "50.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    from integrations.gocardless.sandbox import create_payout

    create_payout(w.org, "USD")
    from integrations.gocardless.sandbox.state import rows

    # Deliver the events newest first (paid_out before confirmed), each twice.
    events = [r.data for r in rows(w.org, "event").order_by("-id") if r.data.get("_delivered") is False]
    for r in rows(w.org, "event"):
        r.data["_delivered"] = True
        r.save(update_fields=["data"])
    public = [{k: v for k, v in e.items() if not k.startswith("_")} for e in events]
    assert post_webhook(w.gc, public, w.secret).status_code == 200
    assert post_webhook(w.gc, public, w.secret).status_code == 200
    run_due()
    assert post_webhook(w.gc, public, w.secret).status_code == 200  # after processing, too
    run_due()
    assert len(fb_payments(w.business, invoice["id"])) == 1
    from integrations.gocardless.signatures import event_key

    for e in public:  # stored once each, however often it came
        assert InboundEvent.objects.filter(dedupe_key=event_key(w.gc.pk, e["id"])).count() == 1


def test_a_confirmed_handled_after_charged_back_records_nothing(tenant_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "80.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    move_payment(w.org, payment["id"], "charge_back")
    flush(w.org)
    run_due()
    assert fb_payments(w.business, invoice["id"]) == []
    from integrations.gocardless.models import GcPayment

    assert GcPayment.objects.get(payment_id=payment["id"]).status == "charged_back"


def test_a_charge_back_after_posting_reverses_the_freshbooks_payment_and_reopens_the_invoice(
    tenant_a, admin_a, mailoutbox
):
    w = world(tenant_a)
    invoice = send_invoice(w, "90.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    flush(w.org)
    run_due()
    [posted] = fb_payments(w.business, invoice["id"])
    assert posted["vis_state"] == 0
    move_payment(w.org, payment["id"], "charge_back")
    flush(w.org)
    run_due()
    [reversed_] = fb_payments(w.business, invoice["id"])
    assert reversed_["vis_state"] == 1
    from integrations.freshbooks.sandbox.state import rows as fb_rows

    reopened = next(r.data for r in fb_rows(w.business, "invoice") if r.data["id"] == invoice["id"])
    assert reopened["outstanding"]["amount"] == "90.00"
    from integrations.gocardless.models import GcPayment

    row = GcPayment.objects.get(payment_id=payment["id"])
    assert row.reversed_at is not None
    assert any("charged back" in m.body for m in mailoutbox)


def test_the_lean_wsgi_path_takes_a_full_batch_for_gocardless_and_still_refuses_a_forged_one(tenant_a):
    from tests.core.test_receiver import wsgi_call

    w = world(tenant_a)
    events = [event(n, "refunds", "created", refund=f"RF{n:012d}") for n in range(250)]
    for e in events:
        e["details"]["description"] = "x" * 700
    body = json.dumps({"events": events}).encode()
    assert len(body) > 64 * 1024
    path = f"/hooks/gocardless/{w.gc.endpoint_key}/"
    status, _ = wsgi_call(path, body, {"Webhook-Signature": "f" * 64})
    assert status.startswith("401") and not InboundEvent.objects.exists()
    status, _ = wsgi_call(path, body, {"Webhook-Signature": sign(body, w.secret)})
    assert status.startswith("200") and InboundEvent.objects.filter(provider="gocardless").count() == 250
