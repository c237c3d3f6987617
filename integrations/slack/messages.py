"""FreshBooks records as Slack messages: Block Kit with a plain-text fallback.

User data (client names, invoice numbers, notes) is escaped for mrkdwn (&, <, >) so a client
called "<!channel>" cannot ping a channel and "A & B" stays readable. Limits respected: header
text ≤ 150 characters, section text ≤ 3,000, at most 10 fields (vendors doc §3.6).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from integrations.freshbooks.client import money
from integrations.slack.routing import category_of

TITLES = {
    "invoice.create": "New invoice",
    "invoice.update": "Invoice updated",
    "payment.create": "Payment received",
    "bill.create": "Bill posted",
    "bill.update": "Bill updated",
    "expense.create": "New expense",
    "expense.update": "Expense updated",
}
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
    """{"text": ..., "blocks": [...]} for chat.postMessage."""
    record_type = event.event_type.split(".")[0]
    record = event.payload if isinstance(event.payload, dict) else {}
    title = TITLES.get(event.event_type, event.event_type)
    amount = format_money(event.amount, event.currency)
    who = event.counterparty or ""
    number = event.invoice_number or ""
    fields: list[tuple[str, str]] = [("Amount", amount)]
    if who:
        fields.append(("Vendor" if record_type in ("bill", "expense") else "Client", who))
    if number:
        fields.append(("Bill" if record_type == "bill" else "Invoice", number))
    status = _status(record_type, record)
    if status:
        fields.append(("Status", status))
    if record_type == "invoice":
        outstanding, code = money(record.get("outstanding"))
        if outstanding is not None:
            fields.append(("Outstanding", format_money(outstanding, code or event.currency)))
    if record_type in ("invoice", "bill") and record.get("due_date"):
        fields.append(("Due", str(record["due_date"])))
    if record_type in ("payment", "expense") and record.get("date"):
        fields.append(("Date", str(record["date"])))
    if record_type == "payment" and record.get("type"):
        fields.append(("Method", str(record["type"])))
    if record_type == "expense" and category_of(record):
        fields.append(("Category", category_of(record)))

    headline = f"{title}: {amount}" + (f" — {who}" if who else "") + (f" ({number})" if number else "")
    summary = f"*{escape(title)}*" + (f" · *{escape(who)}*" if who else "") + (f" · {escape(number)}" if number else "")
    link = freshbooks_link(record_type, record)
    context = "Synced from FreshBooks by ml-connector"
    if link:
        context += f" • <{link}|Open in FreshBooks>"
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(headline, 150), "emoji": False}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": _clip(summary, 3000)},
            "fields": [{"type": "mrkdwn", "text": _clip(f"*{k}*\n{escape(v)}", 2000)} for k, v in fields[:10]],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]
    # The fallback is what notifications and screen readers show: plain words, no markup.
    return {"text": _clip(headline, 3000), "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def _status(record_type: str, record: dict) -> str:
    if record_type == "invoice":
        value = record.get("v3_status") or record.get("display_status") or record.get("payment_status")
        return str(value or "").replace("_", " ").capitalize()
    if record_type == "bill":
        return str(record.get("status") or "").replace("_", " ").capitalize()
    return ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_parts(message: dict | None) -> dict[str, Any]:
    """A built message as plain parts a page can show (previews, the posts list)."""
    if not message:
        return {}
    blocks = message.get("blocks") or []
    header = next((b["text"]["text"] for b in blocks if b.get("type") == "header"), message.get("text", ""))
    section = next((b for b in blocks if b.get("type") == "section"), {})
    fields = []
    for field in section.get("fields", []):
        label, _, value = field.get("text", "").partition("\n")
        fields.append((label.strip("*"), _unescape(value)))
    return {"header": header, "fields": fields, "text": message.get("text", "")}


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
