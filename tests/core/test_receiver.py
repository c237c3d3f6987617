"""The one receiver: verified events are stored before the 2xx; everything else changes nothing."""

import io

import pytest
from django.test import Client

from mlconnector.audit.models import AuditRecord
from mlconnector.webhooks.models import InboundEvent
from tests.freshbooks.helpers import connection_with_callbacks, post_webhook, sign, webhook_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def conn():
    return connection_with_callbacks()


def test_it_stores_a_correctly_signed_webhook_and_answers_200(conn):
    body = webhook_body(object_id="555")
    response = post_webhook(Client(), conn, body)
    assert response.status_code == 200
    event = InboundEvent.objects.get()
    assert (event.event_type, event.object_id, event.status) == ("invoice.create", "555", "received")
    assert event.tenant_id == conn.tenant_id and event.connection_id == conn.pk
    assert event.raw_body == body
    assert "x-freshbooks-hmac-sha256" not in event.headers


def test_it_rejects_a_wrong_signature_with_401_and_stores_nothing(conn):
    body = webhook_body()
    response = post_webhook(Client(), conn, body, signature=sign(body, "wrong-verifier"))
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()
    rejected = AuditRecord.objects.get(kind=AuditRecord.Kind.WEBHOOK_REJECTED)
    assert rejected.status_code == 401 and rejected.tenant_id == conn.tenant_id


def test_it_rejects_a_missing_signature(conn):
    response = Client().post(
        f"/hooks/freshbooks/{conn.endpoint_key}/", data=webhook_body(), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_it_rejects_events_no_verified_callback_covers(conn):
    body = webhook_body(name="expense.create")
    assert post_webhook(Client(), conn, body).status_code == 401
    assert not InboundEvent.objects.exists()


def test_it_answers_404_for_an_unknown_endpoint_key(conn):
    response = Client().post(
        "/hooks/freshbooks/not-a-real-key/",
        data=webhook_body(),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_FRESHBOOKS_HMAC_SHA256="x",
    )
    assert response.status_code == 404
    assert not InboundEvent.objects.exists()
    assert AuditRecord.objects.filter(kind=AuditRecord.Kind.WEBHOOK_REJECTED, status_code=404).exists()


def test_it_answers_404_for_a_disconnected_connection(conn):
    conn.status = "disconnected"
    conn.save()
    assert post_webhook(Client(), conn, webhook_body()).status_code == 404


def test_it_answers_400_for_a_malformed_body(conn):
    response = post_webhook(Client(), conn, b"\xff\xfe garbage", signature="x")
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_it_answers_413_for_an_oversized_body(conn, settings):
    settings.MLCONNECTOR_WEBHOOK_MAX_BYTES = 200
    body = webhook_body(padding="x" * 300)
    response = post_webhook(Client(), conn, body)
    assert response.status_code == 413
    assert not InboundEvent.objects.exists()


def test_it_treats_a_redelivery_of_a_pending_event_as_a_no_op(conn):
    body = webhook_body(object_id="777")
    assert post_webhook(Client(), conn, body).status_code == 200
    assert post_webhook(Client(), conn, body).status_code == 200
    assert InboundEvent.objects.count() == 1


def test_it_stores_a_redelivery_again_once_the_first_was_processed(conn):
    body = webhook_body(object_id="778")
    post_webhook(Client(), conn, body)
    InboundEvent.objects.update(status=InboundEvent.Status.PROCESSED)
    post_webhook(Client(), conn, body)
    # Stored again; processing compares versions and makes it a no-op if nothing changed.
    assert InboundEvent.objects.count() == 2


def test_it_refuses_get_requests(conn):
    assert Client().get(f"/hooks/freshbooks/{conn.endpoint_key}/").status_code == 405


def wsgi_call(path, body, headers):
    from mlconnector.wsgi import application

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()},
    }
    captured = {}

    def start_response(status, response_headers):
        captured["status"] = status

    out = b"".join(application(environ, start_response))
    return captured["status"], out


def test_it_serves_the_same_receiver_on_the_lean_wsgi_path(conn):
    body = webhook_body(object_id="901")
    status, _ = wsgi_call(f"/hooks/freshbooks/{conn.endpoint_key}/", body, {"X-FreshBooks-Hmac-SHA256": sign(body)})
    assert status.startswith("200")
    assert InboundEvent.objects.filter(object_id="901").exists()
    status, _ = wsgi_call(
        f"/hooks/freshbooks/{conn.endpoint_key}", body + b"&x=1", {"X-FreshBooks-Hmac-SHA256": sign(body)}
    )
    assert status.startswith("401")
    status, _ = wsgi_call("/hooks/freshbooks/nope/", body, {})
    assert status.startswith("404")


@pytest.mark.django_db(transaction=True)
def test_it_reconnects_once_when_the_database_dropped_the_connection():
    from unittest import mock

    from django.db import OperationalError, connection

    from mlconnector.webhooks import store

    conn = connection_with_callbacks()
    body = webhook_body(object_id="31337")
    real_cursor = connection.cursor
    calls = {"n": 0}

    def flaky_cursor(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_cursor(*args, **kwargs)

    with mock.patch.object(connection, "cursor", side_effect=flaky_cursor):
        from django.utils import timezone

        now = timezone.now()
        store.insert_events(
            [
                store.NewEvent(
                    tenant_id=conn.tenant_id,
                    connection_id=conn.pk,
                    provider="freshbooks",
                    event_type="invoice.create",
                    object_id="31337",
                    account_id="ACC1",
                    dedupe_key="k-31337",
                    raw_body=body,
                    headers={},
                    received_at=now,
                )
            ]
        )
    assert calls["n"] == 2
    assert InboundEvent.objects.filter(object_id="31337").count() == 1


def test_a_flood_of_bad_webhooks_cannot_fill_the_audit_trail(conn, settings):
    from django.core.cache import cache

    cache.clear()
    settings.MLCONNECTOR_REJECTED_AUDIT_PER_MINUTE = 3
    for _ in range(10):
        assert post_webhook(Client(), conn, webhook_body(), signature="forged").status_code == 401
    assert AuditRecord.objects.filter(kind=AuditRecord.Kind.WEBHOOK_REJECTED).count() == 3
    assert not InboundEvent.objects.exists()
