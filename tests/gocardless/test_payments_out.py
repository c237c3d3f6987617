"""FreshBooks invoice -> GoCardless payment: exactly one payment whatever happens (a worker killed
between GoCardless's answer and our commit, a replay, concurrent create and update), integer minor
units, the charge date, edits and deletions before submission, and what is never posted."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from integrations.gocardless.client import GoCardlessClient
from integrations.gocardless.models import GcPayment
from integrations.gocardless.money import BadAmount, to_minor
from integrations.gocardless.payments_out import idempotency_key
from integrations.gocardless.sandbox import add_customer, add_mandate, move_payment
from integrations.gocardless.sandbox.state import flush
from mlconnector.pipeline.models import Delivery, RecordLink
from mlconnector.pipeline.replay import replay_deliveries
from tests.gocardless.helpers import fb_payments, gc_payments, run_due, send_invoice, store_books_event, world

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("120.00", "USD", 12000), ("0.01", "GBP", 1), ("1234.5", "EUR", 123450), (Decimal("19.99"), "SEK", 1999)],
)
def test_it_turns_decimal_amounts_into_integer_minor_units(amount, currency, minor):
    assert to_minor(amount, currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency"), [("1.005", "USD"), ("0", "USD"), ("-5", "GBP"), ("10", "JPY"), ("x", "USD")]
)
def test_it_refuses_what_cannot_be_collected_exactly(amount, currency):
    with pytest.raises(BadAmount):
        to_minor(amount, currency)


def test_a_rerun_after_a_crash_between_gocardlesss_answer_and_our_commit_finds_the_existing_payment(tenant_a):
    """The worker died after GoCardless made the payment and before anything of ours was
    committed: the rerun sends the same Idempotency-Key, gets 409 idempotent_creation_conflict,
    and uses the payment GoCardless already made. Exactly one payment."""
    w = world(tenant_a)
    invoice = send_invoice(w, "120.00")
    delivery_ids = []

    # What the dying worker had done: GoCardless answered 201, and nothing of ours was committed.
    from integrations.gocardless import payments_out

    real_keep = payments_out._keep

    def die_after_gocardless_answered(*args, **kwargs):
        raise SystemExit("worker killed")

    payments_out._keep = die_after_gocardless_answered
    try:
        with pytest.raises(SystemExit):
            run_due()
    finally:
        payments_out._keep = real_keep
    assert len(gc_payments(w.org)) == 1 and not GcPayment.objects.exists()
    assert not RecordLink.objects.filter(connection=w.gc, remote_type="payment").exists()
    delivery = Delivery.objects.get(connection=w.gc)
    delivery_ids.append(delivery.pk)
    # The lease of the dead worker runs out; the sweeper hands the delivery out again.
    Delivery.objects.filter(pk=delivery.pk).update(
        status="pending", lease_until=None, lease_owner="", dispatched_at=None
    )
    run_due()
    [payment] = gc_payments(w.org)
    row = GcPayment.objects.get()
    assert row.payment_id == payment["id"]
    assert row.idempotency_key == idempotency_key(tenant_a.pk, "DEMO01", str(invoice["id"]), 1)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and delivery.remote_id == payment["id"]
    from tests.pipeline_helpers import audit_messages

    assert any("found the payment already asked for" in m for m in audit_messages(delivery=delivery))


def test_the_client_resolves_a_409_to_the_payment_already_made(tenant_a):
    w = world(tenant_a)
    client = GoCardlessClient(w.gc)
    mandate = next(m for m in client.iterate("mandates", {"status": "active"}))
    body = {"amount": 500, "currency": "USD", "links": {"mandate": mandate["id"]}}
    first, made = client.create("payments", body, idempotency_key="same-key")
    again, made_again = client.create("payments", {**body, "amount": 999}, idempotency_key="same-key")
    assert made and not made_again and again["id"] == first["id"] and again["amount"] == 500
    assert len(gc_payments(w.org)) == 1


def test_replaying_the_invoice_delivery_and_an_update_never_make_a_second_payment(tenant_a, admin_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "60.00")
    run_due()
    store_books_event(w, "invoice.update", invoice["id"])
    run_due()
    replay_deliveries(Delivery.objects.filter(connection=w.gc), actor=admin_a)
    run_due()
    assert len(gc_payments(w.org)) == 1


def test_the_charge_date_is_the_later_of_the_due_date_and_the_mandates_next_possible_date(tenant_a):
    w = world(tenant_a)
    soon = send_invoice(w, "10.00", due_in=-5)  # overdue: as soon as the mandate allows
    later = send_invoice(w, "11.00", due_in=40)
    run_due()
    mandate = next(
        r.data for r in __import__("integrations.gocardless.sandbox.state", fromlist=["rows"]).rows(w.org, "mandate")
    )
    by_amount = {p["amount"]: p for p in gc_payments(w.org)}
    assert by_amount[1000]["charge_date"] == mandate["next_possible_charge_date"]
    assert by_amount[1100]["charge_date"] == later["due_date"]
    assert date.fromisoformat(by_amount[1100]["charge_date"]) > date.fromisoformat(soon["due_date"]) + timedelta(
        days=40
    )


def test_a_draft_invoice_is_not_charged_until_it_is_sent(tenant_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "30.00", status=1)
    run_due()
    assert gc_payments(w.org) == []
    assert Delivery.objects.get(connection=w.gc).status == "skipped"
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS

    records.update(w.business, KINDS["invoice"], invoice["id"], {"status": 2})
    store_books_event(w, "invoice.update", invoice["id"])
    run_due()
    assert len(gc_payments(w.org)) == 1


def test_an_invoice_deleted_before_submission_cancels_its_payment(tenant_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "40.00")
    run_due()
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS

    records.delete(w.business, KINDS["invoice"], invoice["id"])
    store_books_event(w, "invoice.delete", invoice["id"])
    run_due()
    [payment] = gc_payments(w.org)
    assert payment["status"] == "cancelled"


def test_an_amount_edited_before_submission_cancels_and_asks_again_with_the_next_key(tenant_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "40.00")
    run_due()
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS

    records.update(
        w.business,
        KINDS["invoice"],
        invoice["id"],
        {"lines": [{"name": "Work", "qty": "1", "unit_cost": {"amount": "45.00"}}]},
    )
    store_books_event(w, "invoice.update", invoice["id"])
    run_due()
    first, second = gc_payments(w.org)
    assert first["status"] == "cancelled" and second["amount"] == 4500 and second["status"] == "pending_submission"
    keys = sorted(GcPayment.objects.values_list("idempotency_key", flat=True))
    assert keys == [idempotency_key(tenant_a.pk, "DEMO01", str(invoice["id"]), n) for n in (1, 2)]


def test_an_edit_after_submission_is_flagged_not_charged_again(tenant_a, admin_a, mailoutbox):
    w = world(tenant_a)
    invoice = send_invoice(w, "40.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    flush(w.org)
    run_due()
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS

    records.update(
        w.business,
        KINDS["invoice"],
        invoice["id"],
        {"lines": [{"name": "Work", "qty": "1", "unit_cost": {"amount": "45.00"}}]},
    )
    store_books_event(w, "invoice.update", invoice["id"])
    run_due()
    assert len(gc_payments(w.org)) == 1
    row = GcPayment.objects.get()
    assert "already submitted" in row.flag
    assert mailoutbox and payment["id"] in mailoutbox[0].subject


def test_a_payment_made_outside_ml_connector_is_flagged_and_never_posted(tenant_a, admin_a):
    w = world(tenant_a)
    client = GoCardlessClient(w.gc)
    mandate = next(m for m in client.iterate("mandates", {"status": "active"}))
    made, _ = client.create(
        "payments", {"amount": 2500, "currency": "USD", "links": {"mandate": mandate["id"]}}, idempotency_key="k1"
    )
    move_payment(w.org, made["id"], "submit")
    move_payment(w.org, made["id"], "confirm")
    flush(w.org)
    run_due()
    row = GcPayment.objects.get(payment_id=made["id"])
    assert row.flag and not row.posted_payment_id
    from integrations.freshbooks.sandbox.state import rows as fb_rows

    assert not fb_rows(w.business, "payment").exists()


def test_a_payment_for_an_invoice_already_paid_in_freshbooks_is_flagged_not_posted(tenant_a, admin_a):
    w = world(tenant_a)
    invoice = send_invoice(w, "70.00")
    run_due()
    [payment] = gc_payments(w.org)
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS

    records.create(
        w.business, KINDS["payment"], {"invoiceid": invoice["id"], "amount": {"amount": "70.00"}, "type": "Check"}
    )
    move_payment(w.org, payment["id"], "submit")
    move_payment(w.org, payment["id"], "confirm")
    flush(w.org)
    run_due()
    assert len(fb_payments(w.business, invoice["id"])) == 1  # only the cheque
    row = GcPayment.objects.get(payment_id=payment["id"])
    assert "already paid" in row.flag and not row.posted_payment_id
    from integrations.gocardless.reconciliation import build

    report = build(w.gc, f"{row.charge_date:%Y-%m}", "USD")
    assert report.balanced and report.totals["flagged"] == Decimal("70.00")
    assert [about for about, _ in report.differences] == [payment["id"]]


def test_a_second_customer_with_the_freshbooks_client_id_in_metadata_is_found(tenant_a):
    w = world(tenant_a)
    from tests.gocardless.helpers import client_id

    fb_id = client_id(w.business, "Globex Corporation")
    other = add_customer(w.org, email="ap@globex-billing.example", metadata={"freshbooks_client_id": str(fb_id)})
    add_mandate(w.org, other["id"], "USD")
    send_invoice(w, "15.00", organization="Globex Corporation")
    run_due()
    [payment] = gc_payments(w.org)
    assert payment["links"]["customer"] == other["id"]


def _retainer(w, amount_minor: int, count: int = 2):
    from integrations.gocardless.sandbox.scenario import add_subscription
    from integrations.gocardless.sandbox.state import rows

    mandate = next(r.data for r in rows(w.org, "mandate") if r.data["status"] == "active")
    soon = min((date.today() + timedelta(days=5)).day, 28)
    return add_subscription(w.org, mandate["id"], amount_minor, count=count, day_of_month=soon)


def test_an_invoice_a_subscription_covers_is_linked_to_its_payment_not_charged_again(tenant_a):
    w = world(tenant_a)
    sub = _retainer(w, 50000, count=1)
    invoice = send_invoice(w, "500.00", due_in=20)
    run_due()
    assert gc_payments(w.org) == []  # no second charge
    delivery = Delivery.objects.get(connection=w.gc)
    assert delivery.status == "succeeded" and delivery.remote_id == sub["id"]
    # The subscription's own payment is then matched to the invoice and posted once.
    from integrations.gocardless.sandbox.scenario import collect_subscription

    paid = collect_subscription(w.org, sub["id"])
    move_payment(w.org, paid["id"], "submit")
    move_payment(w.org, paid["id"], "confirm")
    flush(w.org)
    run_due()
    [posted] = fb_payments(w.business, invoice["id"])
    assert posted["amount"]["amount"] == "500.00" and paid["id"] in posted["note"]
    assert GcPayment.objects.get(payment_id=paid["id"]).invoice_id == str(invoice["id"])


def test_an_invoice_matching_several_subscription_payments_goes_to_a_person_not_the_bank(tenant_a):
    from integrations.gocardless.models import MandateRequest

    w = world(tenant_a)
    _retainer(w, 50000, count=3)
    send_invoice(w, "500.00", due_in=60)
    run_due()
    assert gc_payments(w.org) == []
    request = MandateRequest.objects.get()
    assert request.kind == "decision" and "a person decides" in request.reason
    assert Delivery.objects.get(connection=w.gc).status == "waiting"


def test_a_subscription_of_another_amount_does_not_stop_an_invoice(tenant_a):
    w = world(tenant_a)
    _retainer(w, 50000)
    send_invoice(w, "120.00")
    run_due()
    assert len(gc_payments(w.org)) == 1


def test_freshbooks_refusing_the_client_lookup_does_not_blame_gocardless(tenant_a):
    w = world(tenant_a)
    send_invoice(w, "20.00")
    w.books.credentials = {"access_token": "revoked-token-000000000000"}
    w.books.save(update_fields=["credentials"])
    from mlconnector.pipeline.delivery import deliver
    from mlconnector.webhooks.models import InboundEvent

    event = InboundEvent.objects.get(event_type="invoice.create")
    from integrations.freshbooks.sandbox.state import rows as fb_rows

    event.payload = next(r.data for r in fb_rows(w.business, "invoice"))
    event.status = "processed"
    event.save(update_fields=["payload", "status"])
    from django.utils import timezone

    delivery = Delivery.objects.create(
        tenant=tenant_a,
        event=event,
        connection=w.gc,
        provider="gocardless",
        event_type="invoice.create",
        next_attempt_at=timezone.now(),
    )
    deliver(delivery.pk)
    delivery.refresh_from_db()
    w.gc.refresh_from_db()
    assert (
        delivery.status == "retrying"
        and "from FreshBooks" in delivery.last_error
        and "could not read the" in delivery.last_error
    )
    assert w.gc.status == "active" and gc_payments(w.org) == []


def test_a_flag_is_posted_to_the_slack_channel_set_for_it(tenant_a, admin_a):
    from integrations.slack.sandbox import state as slack_state
    from tests.slack.helpers import sandbox_slack_connection, texts

    w = world(tenant_a)
    sandbox_slack_connection(tenant_a)
    w.gc.config = {**w.gc.config, "alerts_channel": "#accounting"}
    w.gc.save(update_fields=["config"])
    slack_state.ensure_workspace()
    invoice = send_invoice(w, "40.00")
    run_due()
    [payment] = gc_payments(w.org)
    move_payment(w.org, payment["id"], "submit")
    flush(w.org)
    run_due()
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS

    records.delete(w.business, KINDS["invoice"], invoice["id"])
    store_books_event(w, "invoice.delete", invoice["id"])
    run_due()
    assert any(payment["id"] in t and "deleted in FreshBooks" in t for t in texts("#accounting"))


def test_a_cancel_whose_answer_was_lost_is_not_flagged_when_asked_again(tenant_a):
    from integrations.gocardless.payments_out import _withdraw

    w = world(tenant_a)
    send_invoice(w, "12.00")
    run_due()
    row = GcPayment.objects.get()
    client = GoCardlessClient(w.gc)
    client.action("payments", row.payment_id, "cancel")  # the first cancel happened; we never heard
    result = _withdraw(client, row, "the invoice was deleted in FreshBooks")
    row.refresh_from_db()
    assert row.status == "cancelled" and not row.flag and "cancelled payment" in result.message


def test_an_invoice_paid_while_it_waited_for_a_mandate_is_not_charged_when_the_mandate_arrives(tenant_a):
    from integrations.freshbooks.sandbox import records
    from integrations.freshbooks.sandbox.state import KINDS
    from integrations.gocardless.payments_out import mandate_ready

    w = world(tenant_a)
    invoice = send_invoice(w, "75.00", organization="Globex Corporation")
    run_due()
    assert Delivery.objects.get(connection=w.gc).status == "waiting"
    # Paid by cheque meanwhile; no webhook reaches us about it.
    records.create(w.business, KINDS["payment"], {"invoiceid": invoice["id"], "amount": {"amount": "75.00"}})
    globex = next(c for c in GoCardlessClient(w.gc).iterate("customers") if c["email"] == "hank@globex.example")
    add_mandate(w.org, globex["id"], "USD")
    mandate_ready(w.gc, GoCardlessClient(w.gc), globex["id"])
    run_due()
    assert gc_payments(w.org) == []
    assert Delivery.objects.get(connection=w.gc).status == "skipped"
