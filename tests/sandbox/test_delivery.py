"""The fakes' webhook outbox: bodies wait encrypted, several at once, and are sent once."""

from unittest import mock

import pytest

from integrations.sandbox import delivery
from integrations.sandbox.models import SandboxObject

pytestmark = pytest.mark.django_db


def test_it_queues_several_webhooks_at_once_and_sends_each_once(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    with mock.patch("integrations.sandbox.delivery.async_task") as enqueue:
        delivery.send_later("http://testserver/hooks/x/y/", "verifier=not-in-task-args-123", {"A": "1"})
        delivery.send_later("http://testserver/hooks/x/y/", b"second", {})
    rows = list(SandboxObject.objects.filter(kind="outbox"))
    assert len(rows) == 2
    for call in enqueue.call_args_list:
        assert "not-in-task-args" not in repr(call)
    with mock.patch("integrations.sandbox.delivery.send_now", return_value=200) as send:
        for row in rows:
            assert delivery.send_outbox(row.pk) == 200
        assert delivery.send_outbox(rows[0].pk) == 0  # already sent: gone
    assert send.call_count == 2
    assert not SandboxObject.objects.filter(kind="outbox").exists()
