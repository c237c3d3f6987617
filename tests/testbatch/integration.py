"""A target that takes batches, used only by the tests (HubSpot will be the first real one).

It writes up to three deliveries of one connection in one call to the sink's batch endpoint, which
answers per item (201 created, 200 already there, 422 refused, 503 try later), and hands one result
per delivery back to the pipeline, as a 207 multi-status is read.
"""

from __future__ import annotations

from mlconnector.contract import Integration, SyncResult
from mlconnector.http import Rejected, Unavailable
from tests.testsink.integration import SinkClient


class TestBatch(Integration):
    provider = "testbatch"
    label = "Test batch sink"
    auth_kind = "token"
    listed = False
    batch_size = 3
    backfill_types = ("invoice",)
    sync_handlers = {"freshbooks": {"invoice.create": "write", "invoice.update": "write", "payment.create": "write"}}

    def client(self, audit=None):
        return SinkClient(self.connection, audit=audit)

    def check(self, audit=None) -> str:
        self.client(audit).get("/ping")
        return "sink reachable"

    def write(self, event, delivery, audit) -> SyncResult:
        return self.sync_batch([delivery], audit)[delivery.pk]

    def sync_batch(self, deliveries, audit):
        inputs = [
            {
                "key": f"batch:{d.pk}:{d.replays if d.resend else 0}",
                "object_id": d.event.object_id,
                "invoice_number": d.event.invoice_number,
            }
            for d in deliveries
        ]
        _, data = self.client(audit).request("POST", "/effects/batch", json={"inputs": inputs})
        results = {}
        for delivery, item in zip(deliveries, data["results"], strict=True):
            status = item["status"]
            if status in (200, 201):
                results[delivery.pk] = SyncResult(remote_id=str(item["id"]), message=f"sink effect {item['id']}")
            elif status >= 500:
                results[delivery.pk] = Unavailable(item["message"], status=status)
            else:
                results[delivery.pk] = Rejected(item["message"], status=status)
        return results
