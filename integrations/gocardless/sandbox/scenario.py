"""What happens at the fake GoCardless, as functions the API, the console and the tests share:
customers and mandates, payments moving through their states, payouts with their items and fees,
billing requests fulfilled by a client on the hosted page. Each change emits the event GoCardless
would (resource_type, action, details.cause) and the caller flushes webhooks.

Payment states (vendors doc §2.3): pending_submission -> submitted -> confirmed -> paid_out, or
failed / cancelled / charged_back. The causes are GoCardless's published ones where the vendors doc
names them; others are UNCONFIRMED and kept plain.
"""

from __future__ import annotations

from integrations.gocardless.sandbox.state import (
    SCHEMES,
    add_days,
    emit,
    get,
    invalid_state,
    now_iso,
    rows,
    save,
    today,
)
from integrations.sandbox.models import SandboxAccount, SandboxObject

# from -> allowed next states for the scenario control
MOVES = {
    "submit": (("pending_submission",), "submitted", "payment_submitted", "Payment submitted to the banks."),
    "confirm": (("submitted",), "confirmed", "payment_confirmed", "Payment confirmed: the money was collected."),
    "fail": (
        ("pending_submission", "submitted"),
        "failed",
        "insufficient_funds",
        "The customer's bank refused the debit.",
    ),
    "charge_back": (
        ("confirmed", "paid_out"),
        "charged_back",
        "payment_charged_back",
        "The customer asked their bank for the money back.",
    ),
    "late_failure": (
        ("confirmed", "paid_out"),
        "late_failure_settled",
        "late_failure_settled",
        "The payment failed after it was confirmed.",
    ),
}
FEE_RATE_PERCENT = 1  # the fake's fee: 1% + 20 minor units, at most 400 per payment (not GoCardless's price list)


def add_customer(
    account: SandboxAccount,
    *,
    email: str,
    given_name: str = "",
    family_name: str = "",
    company_name: str = "",
    metadata: dict | None = None,
    country_code: str = "US",
) -> dict:
    customer = {
        "created_at": now_iso(),
        "email": email,
        "given_name": given_name,
        "family_name": family_name,
        "company_name": company_name,
        "country_code": country_code,
        "language": "en",
        "metadata": metadata or {},
    }
    row = save(account, "customer", customer)
    emit(
        account,
        "customers",
        "created",
        {"customer": row.object_id},
        cause="customer_created",
        description="Customer created.",
        origin="api",
    )
    return row.data


def add_mandate(account: SandboxAccount, customer_id: str, currency: str = "USD", status: str = "active") -> dict:
    get(account, "customer", customer_id)
    bank = save(
        account,
        "customer_bank_account",
        {
            "created_at": now_iso(),
            "currency": currency,
            "account_holder_name": "Demo",
            "account_number_ending": "11",
            "bank_name": "Demo Bank",
            "country_code": "US" if currency == "USD" else "GB",
            "enabled": True,
            "links": {"customer": customer_id},
            "metadata": {},
        },
    )
    mandate = save(
        account,
        "mandate",
        {
            "created_at": now_iso(),
            "reference": f"DEMO-{bank.object_id[-6:]}",
            "scheme": SCHEMES[currency],
            "status": status,
            "next_possible_charge_date": add_days(today(), 3).isoformat(),
            "payments_require_approval": False,
            "metadata": {},
            "links": {
                "customer": customer_id,
                "customer_bank_account": bank.object_id,
                "creditor": _creditor_id(account),
            },
        },
    )
    emit(
        account,
        "mandates",
        "created",
        {"mandate": mandate.object_id},
        cause="mandate_created",
        description="Mandate created.",
        origin="api",
    )
    if status == "active":
        emit(
            account,
            "mandates",
            "active",
            {"mandate": mandate.object_id},
            cause="mandate_activated",
            description="The mandate is active.",
        )
    return mandate.data


def move_payment(account: SandboxAccount, payment_id: str, move: str) -> dict:
    allowed, status, cause, description = MOVES[move]
    row = get(account, "payment", payment_id)
    if row.data["status"] not in allowed:
        raise invalid_state("invalid_state", f"A {row.data['status']} payment cannot be moved to {status}.")
    return _set_status(
        account,
        row,
        status,
        cause,
        description,
        origin="bank" if move in ("fail", "charge_back", "late_failure") else "gocardless",
    )


def cancel_payment(account: SandboxAccount, payment_id: str) -> dict:
    row = get(account, "payment", payment_id)
    if row.data["status"] not in ("pending_submission", "pending_customer_approval"):
        raise invalid_state("cancellation_failed", "This payment can no longer be cancelled: it was submitted.")
    return _set_status(account, row, "cancelled", "payment_cancelled", "The payment was cancelled.", origin="api")


def retry_payment(account: SandboxAccount, payment_id: str) -> dict:
    row = get(account, "payment", payment_id)
    if row.data["status"] != "failed":
        raise invalid_state("retry_failed", "Only a failed payment can be retried.")
    row.data["charge_date"] = add_days(today(), 3).isoformat()
    return _set_status(account, row, "pending_submission", "payment_retried", "The payment was retried.", origin="api")


def _set_status(account, row: SandboxObject, status: str, cause: str, description: str, origin: str, **links) -> dict:
    row.data["status"] = status
    row.data["links"] = {**row.data.get("links", {}), **links}
    row.save(update_fields=["data", "updated_at"])
    action = {"pending_submission": "resubmission_requested"}.get(status, status)
    emit(
        account,
        "payments",
        action,
        {"payment": row.object_id, **links},
        cause=cause,
        description=description,
        origin=origin,
    )
    return row.data


def add_subscription(
    account: SandboxAccount,
    mandate_id: str,
    amount: int,
    *,
    day_of_month: int = 1,
    count: int = 3,
    name: str = "Monthly retainer",
) -> dict:
    """A monthly subscription on a mandate, with its next `count` payments listed as GoCardless
    lists them (`upcoming_payments`: charge date and amount)."""
    mandate = get(account, "mandate", mandate_id).data
    currency = next(c for c, scheme in SCHEMES.items() if scheme == mandate["scheme"])
    first = _next_day_of_month(add_days(today(), 3), day_of_month)
    dates = [first]
    for _ in range(count - 1):
        dates.append(_next_day_of_month(add_days(dates[-1], 1), day_of_month))
    row = save(
        account,
        "subscription",
        {
            "created_at": now_iso(),
            "amount": amount,
            "currency": currency,
            "status": "active",
            "name": name,
            "interval": 1,
            "interval_unit": "monthly",
            "day_of_month": day_of_month,
            "start_date": first.isoformat(),
            "upcoming_payments": [{"charge_date": d.isoformat(), "amount": amount} for d in dates],
            "metadata": {},
            "links": {"mandate": mandate_id, "customer": mandate["links"].get("customer")},
        },
    )
    emit(
        account,
        "subscriptions",
        "created",
        {"subscription": row.object_id},
        cause="subscription_created",
        description="Subscription created.",
        origin="api",
    )
    return row.data


def collect_subscription(account: SandboxAccount, subscription_id: str) -> dict:
    """The subscription's next upcoming payment becomes a payment (pending submission)."""
    row = get(account, "subscription", subscription_id)
    upcoming = row.data.get("upcoming_payments") or []
    if not upcoming:
        raise invalid_state("subscription_finished", "The subscription has no upcoming payment.")
    nxt, row.data["upcoming_payments"] = upcoming[0], upcoming[1:]
    row.save(update_fields=["data", "updated_at"])
    mandate = get(account, "mandate", row.data["links"]["mandate"]).data
    payment = save(
        account,
        "payment",
        {
            "created_at": now_iso(),
            "amount": nxt["amount"],
            "amount_refunded": 0,
            "currency": row.data["currency"],
            "charge_date": nxt["charge_date"],
            "description": row.data["name"],
            "reference": "",
            "metadata": {},
            "retry_if_possible": True,
            "scheme": mandate["scheme"],
            "status": "pending_submission",
            "links": {
                "mandate": mandate["id"],
                "subscription": subscription_id,
                "creditor": mandate["links"].get("creditor"),
                "customer": mandate["links"].get("customer"),
            },
        },
    )
    emit(
        account,
        "payments",
        "created",
        {"payment": payment.object_id, "subscription": subscription_id},
        cause="payment_created",
        description="Payment created by a subscription.",
    )
    return payment.data


def _next_day_of_month(day, day_of_month: int):
    from datetime import date

    candidate = date(day.year, day.month, min(day_of_month, 28))
    if candidate < day:
        candidate = date(day.year + (day.month == 12), 1 if day.month == 12 else day.month + 1, min(day_of_month, 28))
    return candidate


def fee_for(amount: int) -> int:
    return min(400, amount * FEE_RATE_PERCENT // 100 + 20)


def create_payout(account: SandboxAccount, currency: str = "USD") -> dict | None:
    """Pay out every confirmed payment of `currency` not paid out yet: one payout (paid, arriving two
    days after the latest charge date), its items (each payment and its fee), the payments paid_out, and the events."""
    confirmed = [
        r
        for r in rows(account, "payment").order_by("id")
        if r.data["status"] == "confirmed"
        and r.data["currency"] == currency
        and not r.data.get("links", {}).get("payout")
    ]
    if not confirmed:
        return None
    gross = sum(r.data["amount"] for r in confirmed)
    fees = sum(fee_for(r.data["amount"]) for r in confirmed)
    payout = save(
        account,
        "payout",
        {
            "created_at": now_iso(),
            "amount": gross - fees,
            "deducted_fees": fees,
            "currency": currency,
            # Money reaches the bank a couple of days after the latest charge date it includes.
            "arrival_date": add_days(max(today(), *(_day(r.data["charge_date"]) for r in confirmed)), 2).isoformat(),
            "payout_type": "merchant",
            "reference": f"DEMO-PAYOUT-{len(confirmed)}",
            "status": "paid",
            "metadata": {},
            "links": {"creditor": _creditor_id(account), "creditor_bank_account": "BA0000CREDIT1"},
        },
    )
    for r in confirmed:
        links = {"payment": r.object_id, "mandate": r.data["links"].get("mandate")}
        save(
            account,
            "payout_item",
            {
                "_id": f"{payout.object_id}-{r.object_id}-paid",
                "_payout": payout.object_id,
                "type": "payment_paid_out",
                "amount": _major(r.data["amount"]),
                "links": links,
                "taxes": [],
            },
        )
        save(
            account,
            "payout_item",
            {
                "_id": f"{payout.object_id}-{r.object_id}-fee",
                "_payout": payout.object_id,
                "type": "gocardless_fee",
                "amount": _major(-fee_for(r.data["amount"])),
                "links": links,
                "taxes": [],
            },
        )
        _set_status(
            account,
            r,
            "paid_out",
            "payment_paid_out",
            "The payment was paid out.",
            "gocardless",
            payout=payout.object_id,
        )
    emit(
        account,
        "payouts",
        "paid",
        {"payout": payout.object_id},
        cause="payout_paid",
        description="The payout was paid.",
    )
    return payout.data


def fulfil_billing_request(account: SandboxAccount, request_id: str, customer_fields: dict) -> dict:
    """The client gave their details on the hosted page: customer, bank account, active mandate."""
    row = get(account, "billing_request", request_id)
    if row.data["status"] == "fulfilled":
        return row.data
    customer_id = (row.data.get("links") or {}).get("customer")
    if not customer_id:
        customer = add_customer(
            account, **{k: customer_fields.get(k, "") for k in ("email", "given_name", "family_name", "company_name")}
        )
        customer_id = customer["id"]
    currency = (row.data.get("mandate_request") or {}).get("currency") or "USD"
    mandate = add_mandate(account, customer_id, currency)
    row.data["status"] = "fulfilled"
    row.data["links"] = {**row.data.get("links", {}), "customer": customer_id, "mandate_request_mandate": mandate["id"]}
    row.save(update_fields=["data", "updated_at"])
    emit(
        account,
        "billing_requests",
        "fulfilled",
        {"billing_request": request_id, "customer": customer_id, "mandate_request_mandate": mandate["id"]},
        cause="billing_request_fulfilled",
        description="The billing request was fulfilled.",
        origin="payer",
    )
    return row.data


def _day(value: str):
    from datetime import date

    return date.fromisoformat(value)


def _creditor_id(account: SandboxAccount) -> str:
    return rows(account, "creditor").first().object_id


def _major(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    minor = abs(minor)
    return f"{sign}{minor // 100}.{minor % 100:02d}"
