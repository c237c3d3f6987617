"""The balance on the contact card: what each FreshBooks client has been invoiced, owes, owes late, and
last paid, from the invoices and payments ml-connector has seen (LedgerEntry rows; a backfill brings
in the history). No call to anyone: the properties are written with the client's other changes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from integrations.hubspot.models import LedgerEntry

BALANCE_NAMES = (
    "freshbooks_total_invoiced",
    "freshbooks_outstanding",
    "freshbooks_overdue",
    "freshbooks_last_payment_date",
    "freshbooks_last_payment_amount",
    "freshbooks_currency",
)


def _amount(value) -> Decimal:
    raw = value.get("amount") if isinstance(value, dict) else value
    try:
        return Decimal(str(raw)) if raw not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def midnight_ms(day: str) -> str:
    """A FreshBooks date as HubSpot's date properties want it: ms since epoch at midnight UTC."""
    try:
        parsed = date.fromisoformat(str(day)[:10])
    except ValueError:
        return ""
    return str(int(datetime.combine(parsed, datetime.min.time(), tzinfo=UTC).timestamp() * 1000))


def invoice_facts(invoice: dict) -> dict:
    return {
        "amount": str(_amount(invoice.get("amount"))),
        "outstanding": str(_amount(invoice.get("outstanding"))),
        "currency": str(invoice.get("currency_code") or (invoice.get("amount") or {}).get("code") or ""),
        "due_date": str(invoice.get("due_date") or ""),
        "status": str(invoice.get("v3_status") or ""),
        "deleted": invoice.get("vis_state") in (1, "1"),
        "number": str(invoice.get("invoice_number") or ""),
        "updated": str(invoice.get("updated") or ""),
    }


def record(connection, kind: str, source_id: str, client_id: str, facts: dict) -> None:
    """Keep what is known of one invoice or payment; an older version (a replay) never wins."""
    found = LedgerEntry.objects.filter(connection=connection, kind=kind, source_id=str(source_id)).first()
    if found is not None and facts.get("updated") and str(found.data.get("updated") or "") > facts["updated"]:
        return
    LedgerEntry.objects.update_or_create(
        connection=connection,
        kind=kind,
        source_id=str(source_id),
        defaults={"tenant_id": connection.tenant_id, "client_id": str(client_id), "data": facts},
    )


def today_in(time_zone: str) -> date:
    try:
        return datetime.now(ZoneInfo(time_zone or "UTC")).date()
    except (KeyError, ValueError):
        return datetime.now(UTC).date()


def balances(connection, client_ids, today: date) -> dict[str, dict[str, str]]:
    """client id -> the balance properties (strings, as HubSpot takes every value)."""
    wanted = {str(c) for c in client_ids if c}
    entries: dict[str, list[LedgerEntry]] = {c: [] for c in wanted}
    for entry in LedgerEntry.objects.filter(connection=connection, client_id__in=wanted):
        entries[entry.client_id].append(entry)
    return {client: balance_of(rows, today) for client, rows in entries.items()}


def balance_of(rows: list[LedgerEntry], today: date) -> dict[str, str]:
    invoices = [r.data for r in rows if r.kind == LedgerEntry.Kind.INVOICE and not r.data.get("deleted")]
    billed = [i for i in invoices if i.get("status") != "draft"]
    currencies = Counter(i.get("currency") for i in billed if i.get("currency"))
    currency = currencies.most_common(1)[0][0] if currencies else ""
    # Totals in the client's main currency; invoices in another currency are left out (README).
    same = [i for i in billed if not currency or i.get("currency") == currency]
    total = sum((_amount(i["amount"]) for i in same), Decimal(0))
    outstanding = sum((_amount(i["outstanding"]) for i in same), Decimal(0))
    overdue = sum(
        (_amount(i["outstanding"]) for i in same if i.get("due_date") and i["due_date"][:10] < today.isoformat()),
        Decimal(0),
    )
    payments = sorted(
        (r.data for r in rows if r.kind == LedgerEntry.Kind.PAYMENT and not r.data.get("deleted")),
        key=lambda p: (p.get("date") or "", p.get("id") or ""),
    )
    last = payments[-1] if payments else {}
    return {
        "freshbooks_total_invoiced": f"{total:.2f}",
        "freshbooks_outstanding": f"{outstanding:.2f}",
        "freshbooks_overdue": f"{overdue:.2f}",
        "freshbooks_last_payment_date": midnight_ms(last["date"]) if last.get("date") else "",
        "freshbooks_last_payment_amount": f"{_amount(last.get('amount')):.2f}" if last else "",
        "freshbooks_currency": currency,
    }
