"""Monday.com: FreshBooks records become items on boards, typed by the tenant's column maps.

Invoices and payments always have handlers; bills and expenses are written when the tenant has
chosen a board for them (otherwise the delivery succeeds as a no-op that says why). A payment
updates its invoice's item (status, outstanding, payment date) and, when a payments board is
chosen, adds an item of its own. Details: README.md in this folder.
"""

from __future__ import annotations

from typing import Any, ClassVar

from integrations.monday import boards, columns
from integrations.monday.client import MondayClient
from integrations.monday.sync import ItemWriter, board_map
from mlconnector.contract import Integration, SyncResult
from mlconnector.http import AuditContext


class Monday(Integration):
    provider = "monday"
    label = "Monday.com"
    auth_kind = "oauth2"
    oauth_module = "integrations.monday.oauth"
    urlconf = "integrations.monday.urls"
    api_urlconf = "integrations.monday.api"
    # Besides OAuth, an admin can paste a personal API token (mlconnector/connections/token_views.py).
    token_form: ClassVar[bool] = True
    token_form_help: ClassVar[str] = (
        "In Monday.com, open your avatar menu → Developers → My access tokens, copy your personal API token "
        "and paste it here. ml-connector can then do what your Monday user can do, so use a user who can "
        "edit the boards you will choose. It is checked with Monday before it is saved, and stored encrypted."
    )
    sync_handlers = {
        "freshbooks": {
            "invoice.create": "sync_record",
            "invoice.update": "sync_record",
            "payment.create": "sync_payment",
            "payment.update": "sync_payment",
            "bill.create": "sync_record",
            "bill.update": "sync_record",
            "expense.create": "sync_record",
            "expense.update": "sync_record",
        }
    }

    def remote_links(self, delivery) -> list[tuple[str, str]]:
        """The item on its board, by the name people see there."""
        from django.conf import settings

        from integrations.monday.sync import REMOTE_TYPE
        from mlconnector.pipeline.models import RecordLink

        if not delivery.remote_id:
            return []
        link = RecordLink.objects.filter(
            connection=self.connection, remote_type=REMOTE_TYPE, remote_id=delivery.remote_id
        ).first()
        board = (link.data or {}).get("board_id") if link else ""
        if not board:
            return [(f"item {delivery.remote_id}", "")]
        slug = (self.connection.config or {}).get("account_slug") or ""
        url = settings.MONDAY_ITEM_URL.format(board=board, item=delivery.remote_id, slug=slug)
        return [(f"item {delivery.remote_id}", url if slug or "{slug}" not in settings.MONDAY_ITEM_URL else "")]

    def client(self, audit: AuditContext | None = None) -> MondayClient:
        return MondayClient(self.connection, audit=audit)

    # --- onboarding -----------------------------------------------------------------------------
    @classmethod
    def connect_with_token(cls, request, tenant, token: str, reconnect):
        from integrations.monday.oauth import connect_with_token

        return connect_with_token(request, tenant, token, reconnect)

    @classmethod
    def after_token_connect(cls, connection) -> str:
        """Where the token form sends the admin next: choosing boards."""
        from django.urls import reverse

        return reverse("monday-maps", args=[connection.pk])

    @classmethod
    def pages(cls, connection) -> list[tuple[str, str]]:
        from django.urls import reverse

        return [("Board maps", reverse("monday-maps", args=[connection.pk]))]

    def check(self, audit: AuditContext | None = None) -> str:
        data = self.client(audit).execute("Me")
        me, account = data.get("me") or {}, data.get("account") or {}
        user, where = me.get("name") or me.get("id"), account.get("name") or account.get("id")
        return f"Signed in to Monday.com as {user} on the account {where}."

    def describe(self, record_type: str) -> list[dict[str, Any]]:
        """The live columns of the board chosen for `record_type` (empty when none is chosen)."""
        bm = board_map(self.connection, record_type)
        if bm is None:
            return []
        board = boards.fetch(self.client(), bm.board_id, fresh=True)
        return [{"id": c.id, "title": c.title, "type": c.type, "labels": c.labels} for c in board.columns.values()]

    # --- sending --------------------------------------------------------------------------------
    def _writer(self, bm, event, delivery, audit) -> ItemWriter:
        return ItemWriter(self.client(audit), bm, event=event, delivery=delivery, audit=audit)

    @staticmethod
    def _may_exist(event, delivery) -> bool:
        """Whether the item may already exist although no link says so (worth a look-up first)."""
        retried = delivery is not None and (delivery.attempts > 1 or delivery.replays > 0)
        return retried or not event.event_type.endswith(".create")

    def sync_record(self, event, delivery, audit) -> SyncResult:
        record_type = event.event_type.split(".")[0]
        record = event.payload
        if not isinstance(record, dict):
            return SyncResult(noop=True, message=f"the FreshBooks {record_type} is gone; nothing to write")
        bm = board_map(self.connection, record_type)
        if bm is None:
            return SyncResult(
                nothing_to_send=True,
                message=f"no Monday board is chosen for {columns.RECORD_LABELS[record_type].lower()}",
            )
        written = self._writer(bm, event, delivery, audit).write(
            record_type,
            str(event.object_id),
            record,
            may_exist=self._may_exist(event, delivery),
            resend=bool(delivery is not None and delivery.resend),
        )
        return SyncResult(remote_id=written.item_id, message=written.sentence(bm), noop=written.action == "unchanged")

    def sync_payment(self, event, delivery, audit) -> SyncResult:
        payment = event.payload
        if not isinstance(payment, dict):
            return SyncResult(noop=True, message="the FreshBooks payment is gone; nothing to write")
        resend = bool(delivery is not None and delivery.resend)
        results: list[str] = []
        remote_id = ""
        invoice_map = board_map(self.connection, "invoice")
        invoice_id = str(payment.get("invoiceid") or "")
        if invoice_map is not None and invoice_id:
            invoice = payment.get("invoice") if isinstance(payment.get("invoice"), dict) else None
            # Enrichment attached the invoice as it is after this payment; without it, mark it paid.
            partial = invoice is None
            invoice = invoice or {"id": invoice_id, "v3_status": "paid"}
            written = self._writer(invoice_map, event, delivery, audit).write(
                "invoice", invoice_id, invoice, may_exist=True, resend=resend, partial=partial
            )
            remote_id = written.item_id
            results.append("invoice " + written.sentence(invoice_map))
        payment_map = board_map(self.connection, "payment")
        if payment_map is not None:
            written = self._writer(payment_map, event, delivery, audit).write(
                "payment",
                str(event.object_id),
                payment,
                may_exist=self._may_exist(event, delivery),
                resend=resend,
            )
            remote_id = written.item_id
            results.append("payment " + written.sentence(payment_map))
        if not results:
            return SyncResult(nothing_to_send=True, message="no Monday board is chosen for invoices or payments")
        return SyncResult(remote_id=remote_id, message="; ".join(results))
