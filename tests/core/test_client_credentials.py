"""Credentials without a refresh token (the client credentials grant, as Salesforce uses it): a new
access token from the stored key and secret when there is none and once on a 401, serialised per
connection like a refresh; a refused secret means "needs reconnect", and no secret is ever written."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, Unauthorized
from tests.factories import ConnectionFactory
from tests.testcc import sandbox as cc
from tests.testcc.integration import CCClient


def cc_connection(tenant=None, secret=cc.CLIENT_SECRET) -> Connection:
    cc.seed()
    kwargs = {"tenant": tenant} if tenant else {}
    return ConnectionFactory(
        provider="testcc", credentials={"client_id": cc.CLIENT_ID, "client_secret": secret}, config={}, **kwargs
    )


def ping(conn: Connection) -> dict:
    return CCClient(conn, audit=AuditContext(connection=conn)).get("/ping")


@pytest.mark.django_db
def test_it_asks_for_a_token_before_the_first_call_and_keeps_what_the_token_response_adds():
    conn = cc_connection()
    assert ping(conn)["who"].startswith("token-")
    assert cc.issued() == 1
    stored = Connection.objects.get(pk=conn.pk).secrets()
    assert stored["access_token"].startswith("00Dcc!") and stored["instance_url"] == "https://cc.example.test"
    assert stored["client_secret"] == cc.CLIENT_SECRET  # kept: it is what the next token comes from
    ping(Connection.objects.get(pk=conn.pk))
    assert cc.issued() == 1  # the token is reused while it works


@pytest.mark.django_db
def test_a_refused_session_gets_one_new_token_and_the_call_is_retried_once():
    conn = cc_connection()
    ping(conn)
    cc.revoke_all()  # the session ended (timeout, password change, admin revoked it)
    assert ping(Connection.objects.get(pk=conn.pk))["who"]
    assert cc.issued() == 2
    assert Connection.objects.get(pk=conn.pk).status == "active"


@pytest.mark.django_db
def test_a_wrong_secret_means_needs_reconnect_and_the_secret_is_never_written():
    conn = cc_connection(secret="cc-wrong-secret-not-real-0001")
    with pytest.raises(Unauthorized) as raised:
        ping(conn)
    assert raised.value.needs_reconnect
    conn.refresh_from_db()
    assert conn.status == "needs_reconnect" and "invalid_client" in conn.last_error
    texts = " ".join(AuditRecord.objects.values_list("message", flat=True)) + conn.last_error
    assert "cc-wrong-secret" not in texts and cc.CLIENT_SECRET not in texts


@pytest.mark.django_db(transaction=True)
def test_workers_refused_at_once_ask_for_one_new_token():
    conn = cc_connection()
    ping(conn)
    cc.revoke_all()
    barrier = threading.Barrier(3)
    answers = []

    def worker():
        try:
            stale = Connection.objects.get(pk=conn.pk)  # all hold the revoked token
            barrier.wait()
            answers.append(ping(stale)["who"])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 3 and len(set(answers)) == 1
    assert cc.issued() == 2  # the first token, and exactly one new one for all three workers
