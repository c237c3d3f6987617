"""A second event source used only by the tests: its events share names with FreshBooks' (a
`payment.create`) and bring one FreshBooks consumes (`payments.confirmed`, as GoCardless will), so
the tests can show that consumption is keyed by source as well as type.

Its events are stored with their record already in hand (event.payload), as a poller stores them.
"""

from __future__ import annotations

from decimal import Decimal

from mlconnector.contract import Enriched, Integration
from mlconnector.http import ApiClient


class TestSource(Integration):
    provider = "testsource"
    label = "Test source"
    auth_kind = "token"
    listed = False
    produces = frozenset({"payment.create", "payments.confirmed"})

    def client(self, audit=None):
        return ApiClient(self.connection, audit=audit)

    def check(self, audit=None) -> str:
        return "always reachable"

    def enrich_record(self, record_type: str, record: dict) -> Enriched:
        return Enriched(
            record_type=record_type,
            record=record,
            version=str(record.get("version") or record.get("reference") or ""),
            counterparty=str(record.get("customer") or ""),
            amount=Decimal(str(record["amount"])) if record.get("amount") else None,
            currency=str(record.get("currency") or ""),
        )
