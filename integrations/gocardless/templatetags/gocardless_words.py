"""GoCardless's states as a finance person reads them ("Paid out", not "paid_out")."""

from django import template

register = template.Library()

WORDS = {
    "pending_customer_approval": "Waiting for the customer's approval",
    "pending_submission": "Pending submission",
    "submitted": "Submitted to the bank",
    "confirmed": "Collected",
    "paid_out": "Paid out",
    "cancelled": "Cancelled",
    "customer_approval_denied": "Refused by the customer",
    "failed": "Failed",
    "charged_back": "Charged back",
    "late_failure_settled": "Failed late (settled)",
    "chargeback_settled": "Chargeback settled",
}


@register.filter
def gc_status(value: str) -> str:
    return WORDS.get(value, str(value).replace("_", " ").capitalize())
