"""A burst to one Slack channel, worked by a real two-worker cluster against the sandbox's limit:
nothing lost, nothing posted twice, at most one 429 — the pacing is shared across processes."""

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from integrations.slack.models import SlackPost
from integrations.slack.sandbox import state as slack_sandbox
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent
from tests.factories import ConnectionFactory, TenantFactory
from tests.live.processes import process_env, qcluster, wait_for
from tests.pipeline_helpers import INVOICE, stored_event
from tests.slack.helpers import rule, sandbox_slack_connection

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]
BURST = 30
# The sandbox's per-channel limit, scaled down from Slack's 1 s so the test takes seconds, not a
# minute; the pacing margin is then a larger share of it, which makes the test stricter, not looser.
INTERVAL = 0.5


def test_a_burst_to_one_channel_loses_nothing_and_provokes_at_most_one_429(live_server, tmp_path, settings):
    settings.SANDBOX_SLACK_CHANNEL_INTERVAL = INTERVAL
    tenant = TenantFactory()
    source = ConnectionFactory(tenant=tenant, provider="freshbooks")
    slack = sandbox_slack_connection(tenant)
    rule(tenant, "All invoices", "accounting", ["invoice.create"])
    deliveries = []
    for n in range(BURST):
        record = {**INVOICE, "id": 5000 + n, "invoice_number": f"B-{n:03d}"}
        event = stored_event(
            source, record=record, object_id=5000 + n, status=InboundEvent.Status.PROCESSED, invoice_number=f"B-{n:03d}"
        )
        deliveries.append(
            Delivery.objects.create(
                tenant=tenant,
                event=event,
                connection=slack,
                provider="slack",
                event_type="invoice.create",
                next_attempt_at=timezone.now(),
            )
        )
    # Warm the live server up (its first requests load code and templates), as a long-running one is.
    client = slack.integration.client()
    client.auth_test()
    client.post_message(slack_sandbox.channel_id("general"), {"text": "warming up"})
    env = process_env(live_server.url, MLCONNECTOR_WORKERS="2", SLACK_CHANNEL_INTERVAL=str(INTERVAL))
    with qcluster(env, tmp_path / "qcluster.log"):
        for d in deliveries:
            async_task("mlconnector.pipeline.delivery.deliver", d.pk, sync=False)

        def all_done() -> bool:
            # Stand in for the dispatcher: hand deliveries whose named wait has passed back to the queue.
            for pk in Delivery.objects.filter(status="retrying", next_attempt_at__lte=timezone.now()).values_list(
                "pk", flat=True
            ):
                async_task("mlconnector.pipeline.delivery.deliver", pk, sync=False)
            return Delivery.objects.filter(status="succeeded").count() == BURST

        wait_for(all_done, timeout=90, interval=0.5, what="every post of the burst")

    posted = slack_sandbox.messages("accounting")
    assert len(posted) == BURST
    assert len({m["text"] for m in posted}) == BURST  # each invoice once
    assert SlackPost.objects.filter(status="posted").count() == BURST
    assert slack_sandbox.rate_limited_count("accounting") <= 1
    times = sorted(float(m["ts"]) for m in posted)
    span = times[-1] - times[0]
    assert span >= (BURST - 1) * INTERVAL * 0.95  # the limit was respected, not dodged
