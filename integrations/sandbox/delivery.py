"""How the fakes send their webhooks to ml-connector: later, from a worker, like the real ones do."""

from __future__ import annotations

import logging

from django_q.tasks import async_task

from integrations.sandbox.inprocess import session

log = logging.getLogger("sandbox")


def send_later(url: str, body: bytes | str, headers: dict[str, str]) -> None:
    async_task("integrations.sandbox.delivery.send_now", url, body, headers, task_name="sandbox-webhook")


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
