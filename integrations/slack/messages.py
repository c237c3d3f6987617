"""FreshBooks records as Slack messages: Block Kit with a plain-text fallback.

User data (client names, invoice numbers, notes) is escaped for mrkdwn (&, <, >) so a client
called "<!channel>" cannot ping a channel and "A & B" stays readable. Limits respected: header
text ≤ 150 characters, section text ≤ 3,000, at most 10 fields (vendors doc §3.6). Every message
says each fact once and carries the record's status (a payment: what it did to its invoice).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from integrations.freshbooks.client import money
from integrations.slack.models import EVENT_LABELS
from integrations.slack.routing import category_of

# Plain words for FreshBooks statuses (invoices: v3_status, bills: status).
STATUS_WORDS = {
    "draft": "Draft",
    "sent": "Sent",
    "viewed": "Viewed",
    "partial": "Partly paid",
    "paid": "Paid",
    "auto_paid": "Paid automatically",
    "overdue": "Overdue",
    "disputed": "Disputed",
    "unpaid": "Unpaid",
    "retry": "Payment retrying",
    "failed": "Payment failed",
}
# An expense's `status` (https://www.freshbooks.com/api/expenses): whether it is billed to a client.
EXPENSE_STATUS_WORDS = {
    0: "Not billable",
    1: "Billable, not invoiced yet",
    2: "Invoiced to the client",
    4: "Recouped from the client",
}
NOUNS = {"invoice": "invoice", "payment": "invoice", "bill": "bill"}
# Where each record opens in FreshBooks (its web app, not the API).
LINKS = {
    "invoice": "/#/invoice/{id}",
    "payment": "/#/invoice/{invoiceid}",
    "bill": "/#/bill/{id}",
    "expense": "/#/expense/{id}",
}


def escape(text: Any) -> str:
    return str(text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency}".strip()


def freshbooks_link(record_type: str, record: dict) -> str:
    pattern = LINKS.get(record_type)
    if not pattern or not record:
        return ""
    try:
        path = pattern.format(id=record.get("id") or record.get("invoiceid"), invoiceid=record.get("invoiceid"))
    except (KeyError, IndexError):
        return ""
    return settings.FRESHBOOKS_WEB_URL.rstrip("/") + path


def build(event) -> dict[str, Any]:
    """{"text": ..., "blocks": [...]} for chat.postMessage.

    Each fact is said once: the header is the event in words ("Invoice created", as the rules name
    it), one line gives the amount, who and the number, and the fields hold the rest (status, what
    is outstanding, dates, method, category). The plain `text` is the notification: all in one line.
    """
    record_type = event.event_type.split(".")[0]
    record = event.payload if isinstance(event.payload, dict) else {}
    title = EVENT_LABELS.get(event.event_type, event.event_type)
    amount = format_money(event.amount, event.currency)
    who = event.counterparty or ""
    number = event.invoice_number or ""
    noun = NOUNS.get(record_type, "")

    fields: list[tuple[str, str]] = []
    status = status_of(record_type, record)
    if status:
        fields.append(("Status", status))
    outstanding = _outstanding(record_type, record, event)
    if outstanding:
        fields.append(("Outstanding", outstanding))
    if record_type in ("invoice", "bill") and record.get("due_date"):
        fields.append(("Due", str(record["due_date"])))
    if record_type in ("payment", "expense") and record.get("date"):
        fields.append(("Date", str(record["date"])))
    if record_type == "payment" and record.get("type"):
        fields.append(("Method", str(record["type"])))
    if record_type == "expense" and category_of(record):
        fields.append(("Category", category_of(record)))

    headline = f"{title}: {amount}" + (f" — {who}" if who else "") + (f" ({number})" if number else "")
    summary = " · ".join(
        part
        for part in (f"*{escape(amount)}*", escape(who), f"{noun} {escape(number)}".strip() if number else "")
        if part
    )
    link = freshbooks_link(record_type, record)
    context = "From FreshBooks" + (f" · <{link}|Open in FreshBooks>" if link else "")
    section: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": _clip(summary, 3000)}}
    if fields:
        section["fields"] = [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{escape(v)}", 2000)} for k, v in fields[:10]]
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(title, 150), "emoji": False}},
        section,
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    # The fallback is what notifications and screen readers show: plain words, no markup.
    return {"text": _clip(headline, 3000), "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def _words(value: Any) -> str:
    text = str(value or "").strip()
    return STATUS_WORDS.get(text.lower(), text.replace("_", " ").capitalize())


def status_of(record_type: str, record: dict) -> str:
    """The record's status in words; a payment's is what it did to its invoice."""
    if record_type == "invoice":
        return _words(record.get("v3_status") or record.get("display_status") or record.get("payment_status"))
    if record_type == "bill":
        return _words(record.get("status"))
    if record_type == "payment":
        invoice = record.get("invoice") if isinstance(record.get("invoice"), dict) else {}
        after = str(invoice.get("v3_status") or invoice.get("payment_status") or "").lower()
        if after in ("paid", "auto_paid"):
            return "Invoice paid in full"
        if after == "partial":
            return "Invoice partly paid"
        return f"Invoice {_words(after).lower()}" if after else ""
    if record_type == "expense":
        try:
            return EXPENSE_STATUS_WORDS.get(int(record.get("status")), "")
        except (TypeError, ValueError):
            return ""
    return ""


def _outstanding(record_type: str, record: dict, event) -> str:
    """What is still owed, when it is news: partly paid (not the full amount, and not nothing)."""
    source = record
    if record_type == "payment":
        source = record.get("invoice") if isinstance(record.get("invoice"), dict) else {}
    elif record_type not in ("invoice", "bill"):
        return ""
    outstanding, code = money(source.get("outstanding"))
    if outstanding is None or outstanding == 0:
        return ""
    if record_type != "payment":
        total, _ = money(source.get("amount") or source.get("total_amount"))
        if outstanding == (event.amount if total is None else total):
            return ""  # nothing paid yet: the amount already says it
    return format_money(outstanding, code or event.currency)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_parts(message: dict | None) -> dict[str, Any]:
    """A built message as plain parts a page can show (previews, the posts list)."""
    if not message:
        return {}
    blocks = message.get("blocks") or []
    header = next((b["text"]["text"] for b in blocks if b.get("type") == "header"), message.get("text", ""))
    section = next((b for b in blocks if b.get("type") == "section"), {})
    summary = _unescape(str((section.get("text") or {}).get("text") or "").replace("*", ""))
    fields = []
    for field in section.get("fields", []):
        label, _, value = field.get("text", "").partition("\n")
        fields.append((label.strip("*"), _unescape(value)))
    return {"header": header, "summary": summary, "fields": fields, "text": message.get("text", "")}


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
