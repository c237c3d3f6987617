"""The month-end AR reconciliation of one connection, per month and currency.

Built only from what ml-connector keeps (GcPayment, GcPayout), so the same month gives the same
report byte for byte: rows sorted by id, amounts as fixed two-decimal strings, no "generated at".
A payment belongs to the month of its charge date; a payout to the month it arrived.

Totals that must balance (and `balanced` says whether they do):
  requested = collected + failed + pending        (every payment of the month is in one state)
  collected = posted + flagged                     (a collected payment not in FreshBooks is a difference)
  payouts: gross = net + fees                      (what reached the bank, and what GoCardless kept)
Differences, each with the payment or payout it is about: a collected payment not posted (no
invoice, invoice already paid or deleted, amount or currency mismatch, not posted yet), a payment
reversed after it was posted, one that failed or was charged back (the invoice stays open), a payout
whose payments are not all posted, and anything flagged on a pending payment (an invoice closed in
FreshBooks while still collecting, for one).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from integrations.gocardless.models import COLLECTED, FAILED, GcPayment, GcPayout

ZERO = Decimal("0.00")


@dataclass
class Line:
    kind: str
    payment: str
    invoice: str
    client: str
    status: str
    amount: Decimal
    fees: Decimal
    payout: str
    freshbooks_payment: str
    note: str


@dataclass
class Report:
    month: str
    currency: str
    lines: list[Line] = field(default_factory=list)
    payouts: list[dict] = field(default_factory=list)
    differences: list[tuple[str, str]] = field(default_factory=list)
    totals: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        t = self.totals
        return (
            t["requested"] == t["collected"] + t["failed"] + t["pending"]
            and t["collected"] == t["posted"] + t["flagged"]
            and t["payouts_gross"] == t["payouts_net"] + t["payouts_fees"]
        )


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(p) for p in month.split("-"))
    start = date(year, mon, 1)
    end = date(year + (mon == 12), 1 if mon == 12 else mon + 1, 1)
    return start, end


def build(conn, month: str, currency: str) -> Report:
    start, end = month_bounds(month)
    report = Report(month=month, currency=currency)
    payments = [
        p
        for p in GcPayment.objects.filter(connection=conn, currency=currency).order_by("payment_id")
        if start <= (p.charge_date or p.created_at.date()) < end
    ]
    t = dict.fromkeys(
        (
            "requested",
            "collected",
            "failed",
            "pending",
            "posted",
            "flagged",
            "payouts_gross",
            "payouts_net",
            "payouts_fees",
        ),
        ZERO,
    )
    counts = dict.fromkeys(t, 0)
    for p in payments:
        amount = p.amount or ZERO
        posted = bool(p.posted_payment_id) and p.reversed_at is None
        if p.status in COLLECTED:
            state = "collected"
            kind = "posted" if posted else "flagged"
        elif p.status in FAILED:
            state, kind = "failed", "failed"
        else:
            state, kind = "pending", "pending"
        for key in ("requested", state) + ((kind,) if state == "collected" else ()):
            t[key] += amount
            counts[key] += 1
        note = p.flag
        if state == "collected" and not posted:
            note = note or "collected, not posted to FreshBooks yet"
        if state == "failed" and p.reversed_at is not None:
            note = f"{p.status.replace('_', ' ')} after FreshBooks payment {p.posted_payment_id} was recorded: reversed"
        elif state == "failed" and not note and p.status != "cancelled":
            note = f"{p.status.replace('_', ' ')}: not collected; the invoice stays open in FreshBooks"
        report.lines.append(
            Line(
                kind=kind,
                payment=p.payment_id,
                invoice=p.invoice_number or p.invoice_id,
                client=p.counterparty or "",
                status=p.status,
                amount=amount,
                fees=p.fees or ZERO,
                payout=p.payout_id,
                freshbooks_payment=p.posted_payment_id if posted else "",
                note=note,
            )
        )
        if note:
            report.differences.append((p.payment_id, note))
    for payout in GcPayout.objects.filter(connection=conn, currency=currency).order_by("payout_id"):
        if payout.arrival_date is None or not (start <= payout.arrival_date < end):
            continue
        net, fees = payout.amount or ZERO, payout.deducted_fees or ZERO
        included = list(GcPayment.objects.filter(connection=conn, payout_id=payout.payout_id).order_by("payment_id"))
        unposted = [p.payment_id for p in included if not p.posted_payment_id or p.reversed_at is not None]
        report.payouts.append(
            {
                "payout": payout.payout_id,
                "arrival_date": payout.arrival_date.isoformat(),
                "gross": net + fees,
                "fees": fees,
                "net": net,
                "payments": len(included),
                "fees_expense": payout.expense_id,
            }
        )
        t["payouts_gross"] += net + fees
        t["payouts_net"] += net
        t["payouts_fees"] += fees
        counts["payouts_gross"] += 1
        if unposted:
            report.differences.append(
                (
                    payout.payout_id,
                    f"payout includes {len(unposted)} payment(s) not posted to FreshBooks: {', '.join(unposted)}",
                )
            )
    report.totals, report.counts = t, counts
    return report


def months_and_currencies(conn) -> tuple[list[str], list[str]]:
    months, currencies = set(), set()
    for p in GcPayment.objects.filter(connection=conn).only("charge_date", "created_at", "currency"):
        day = p.charge_date or p.created_at.date()
        months.add(f"{day:%Y-%m}")
        currencies.add(p.currency)
    return sorted(months, reverse=True), sorted(currencies)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["month", report.month, "currency", report.currency, "balanced", "yes" if report.balanced else "NO"])
    w.writerow([])
    w.writerow(
        ["section", "payment", "invoice", "client", "status", "amount", "fees", "payout", "freshbooks_payment", "note"]
    )
    for line in report.lines:
        w.writerow(
            [line.kind, line.payment, line.invoice, line.client, line.status, f"{line.amount:.2f}", f"{line.fees:.2f}"]
            + [line.payout, line.freshbooks_payment, line.note]
        )
    w.writerow([])
    w.writerow(["payout", "arrival_date", "gross", "fees", "net", "payments", "fees_expense"])
    for p in report.payouts:
        w.writerow(
            [
                p["payout"],
                p["arrival_date"],
                f"{p['gross']:.2f}",
                f"{p['fees']:.2f}",
                f"{p['net']:.2f}",
                p["payments"],
                p["fees_expense"],
            ]
        )
    w.writerow([])
    w.writerow(["total", "count", "amount"])
    for key, amount in report.totals.items():
        w.writerow([key, report.counts[key], f"{amount:.2f}"])
    w.writerow([])
    w.writerow(["difference", "about"])
    for about, words in report.differences:
        w.writerow([words, about])
    return out.getvalue()
