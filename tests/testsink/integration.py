"""A target integration used only by the tests: writes each event to the sandbox sink.

It behaves like the real money-moving targets: a deterministic Idempotency-Key per delivery, a
RecordLink per source record, typed errors from the shared client. The sink (sandbox/) counts
remote effects, so tests can assert "exactly one".
"""

from __future__ import annotations

from django.conf import settings

from mlconnector.contract import Integration, SyncResult
from mlconnector.http import ApiClient, Unauthorized
from mlconnector.pipeline.models import RecordLink


class SinkClient(ApiClient):
    provider = "testsink"
    idempotent_methods = frozenset({"GET", "PUT", "POST"})  # POSTs carry an Idempotency-Key

    @property
    def base_url(self) -> str:
        return settings.MLCONNECTOR_SANDBOX_URL + "/testsink"

    def auth_headers(self):
        key = self.connection.secrets().get("api_key")
        if not key:
            raise Unauthorized("no API key stored for the sink", needs_reconnect=True)
        return {"Authorization": f"Bearer {key}"}

    def remote_id(self, response, data):
        return str((data or {}).get("id") or "")


class TestSink(Integration):
    provider = "testsink"
    label = "Test sink"
    auth_kind = "token"
    listed = False  # exists only in the tests: not offered on the home page
    sync_handlers = {"freshbooks": {"invoice.create": "write", "invoice.update": "write", "payment.create": "write"}}

    def client(self, audit=None):
        return SinkClient(self.connection, audit=audit)

    def check(self, audit=None) -> str:
        self.client(audit).get("/ping")
        return "sink reachable"

    def write(self, event, delivery, audit) -> SyncResult:
        record_type = event.event_type.split(".")[0]
        link = RecordLink.objects.filter(
            connection=self.connection, source_type=record_type, source_id=event.object_id, remote_type="effect"
        ).first()
        key = f"{delivery.pk}:{delivery.replays if delivery.resend else 0}"
        _, data = self.client(audit).request(
            "POST",
            "/effects",
            json={
                "event": event.event_type,
                "object_id": event.object_id,
                "invoice_number": event.invoice_number,
                "update_of": link.remote_id if link else None,
            },
            headers={"Idempotency-Key": key},
        )
        remote_id = str(data["id"])
        RecordLink.objects.update_or_create(
            connection=self.connection,
            source_type=record_type,
            source_id=event.object_id,
            remote_type="effect",
            defaults={"tenant_id": self.connection.tenant_id, "remote_id": remote_id},
        )
        return SyncResult(remote_id=remote_id, message=f"sink effect {remote_id}")
