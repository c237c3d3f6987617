"""The webhook receiver as a bare WSGI app (see mlconnector/wsgi.py). Same receive() as the view."""

from __future__ import annotations

import logging
import time

from django.db import DEFAULT_DB_ALIAS, connections

from mlconnector.webhooks.receiver import Reply, max_bytes, receive, too_large

log = logging.getLogger("mlconnector.webhooks")

_STATUS = {
    200: "200 OK",
    204: "204 No Content",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Payload Too Large",
    498: "498 Invalid Token",
    500: "500 Internal Server Error",
}


def _headers(environ) -> dict[str, str]:
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        out["content-type"] = environ["CONTENT_TYPE"]
    return out


def make_hooks_app():
    def app(environ, start_response, provider: str, endpoint_key: str):
        _recycle_connections()
        try:
            reply = _handle(environ, provider, endpoint_key, max_bytes(provider))
        except Exception:  # noqa: BLE001 - answer 500 so the provider retries; never leak details
            log.exception("webhook receiver failed")
            reply = Reply(500, b"internal error")
        finally:
            _recycle_connections()
        start_response(
            _STATUS.get(reply.status, f"{reply.status} Status"),
            [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))],
        )
        return [reply.body]

    return app


def _recycle_connections() -> None:
    """Drop a connection that is too old or saw an error, as Django's request signals would, but
    without arming its per-request health check: that SELECT 1 was a tenth of the ack's time on
    PostgreSQL, and store.insert_events reconnects once when the server dropped the connection.
    (Inside an atomic block, i.e. a test's transaction, there is nothing to recycle.)"""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.connection is None or conn.in_atomic_block:
        return
    if conn.errors_occurred or (conn.close_at is not None and time.monotonic() >= conn.close_at):
        conn.close()


def _handle(environ, provider: str, endpoint_key: str, limit: int) -> Reply:
    if environ.get("REQUEST_METHOD") != "POST":
        return Reply(405, b"POST only")
    headers = _headers(environ)
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return Reply(400, b"bad content-length")
    if length < 0:
        return Reply(400, b"bad content-length")
    if length > limit:
        return too_large(provider, length, headers)
    body = environ["wsgi.input"].read(length) if length else b""
    return receive(provider, endpoint_key, body, headers, environ.get("CONTENT_TYPE", ""))
