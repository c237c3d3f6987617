"""How the fakes send their webhooks to ml-connector: later, from a worker, like the real ones do.

The body and headers wait in an encrypted outbox row rather than in the task's arguments, because
django-q2 stores task arguments in plain (pickled) form and a body can carry a secret (FreshBooks'
callback.verify carries the verifier).
"""

from __future__ import annotations

import json
import logging
import uuid

from django_q.tasks import async_task

from integrations.sandbox.inprocess import session
from integrations.sandbox.models import SandboxAccount, SandboxObject

log = logging.getLogger("sandbox")


def _outbox_account() -> SandboxAccount:
    account, _ = SandboxAccount.objects.get_or_create(provider="sandbox", key="outbox", defaults={"name": "Outbox"})
    return account


def send_later(url: str, body: bytes | str, headers: dict[str, str]) -> None:
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    row = SandboxObject.objects.create(
        provider="sandbox",
        account=_outbox_account(),
        kind="outbox",
        object_id=uuid.uuid4().hex,
        data={"url": url},
        secret=json.dumps({"body": body, "headers": headers}),
    )
    async_task("integrations.sandbox.delivery.send_outbox", row.pk, task_name="sandbox-webhook")


def send_outbox(row_id: int) -> int:
    row = SandboxObject.objects.filter(pk=row_id, kind="outbox").first()
    if row is None:
        return 0
    message = json.loads(row.secret)
    row.delete()
    return send_now(row.data["url"], message["body"], message["headers"])


def send_now(url: str, body: bytes | str, headers: dict[str, str]) -> int:
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        response = session().post(url, data=body, headers=headers, timeout=10, allow_redirects=False)
    except Exception as exc:  # noqa: BLE001 - a fake provider just logs a failed delivery
        log.warning("sandbox webhook to %s failed: %s", url, exc.__class__.__name__)
        return 0
    log.info("sandbox webhook to %s answered %s", url, response.status_code)
    return response.status_code
