"""Token refresh is serialised per connection: concurrent workers use a refresh token once."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from mlconnector.connections.models import Connection
from mlconnector.connections.tokens import refresh_serialised
from tests.factories import ConnectionFactory


@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_refresh_once():
    conn = ConnectionFactory(credentials={"access_token": "old-access-0000", "refresh_token": "rt-1-single-use"})
    seen = conn.credentials_version
    used_refresh_tokens = []
    results = {}
    barrier = threading.Barrier(2)

    def do_refresh(fresh):
        used_refresh_tokens.append(fresh.secrets()["refresh_token"])
        time.sleep(0.3)  # the provider call, with the lease held
        n = len(used_refresh_tokens)
        return {"access_token": f"new-access-{n}-0000", "refresh_token": f"rt-{n + 1}-single-use"}, None

    def worker(name):
        try:
            barrier.wait()
            stale = Connection.objects.get(pk=conn.pk)
            results[name] = refresh_serialised(stale, seen, do_refresh).secrets()["access_token"]
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert used_refresh_tokens == ["rt-1-single-use"]
    assert results == {"w1": "new-access-1-0000", "w2": "new-access-1-0000"}
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.secrets()["refresh_token"] == "rt-2-single-use"
    assert stored.credentials_version == seen + 1
    assert stored.refresh_lease_owner == "" and stored.refresh_lease_until is None


@pytest.mark.django_db
def test_a_refresh_whose_worker_died_frees_the_lease_after_it_expires():
    conn = ConnectionFactory()
    Connection.objects.filter(pk=conn.pk).update(
        refresh_lease_owner="dead-worker", refresh_lease_until=timezone.now() - timedelta(seconds=1)
    )
    fresh = refresh_serialised(conn, conn.credentials_version, lambda c: ({"access_token": "after-crash-000"}, None))
    assert fresh.secrets()["access_token"] == "after-crash-000"


@pytest.mark.django_db
def test_the_new_refresh_token_is_committed_before_it_is_used():
    conn = ConnectionFactory(credentials={"refresh_token": "rt-a-single-use"})

    def do_refresh(fresh):
        return {"access_token": "at-b-000000", "refresh_token": "rt-b-single-use"}, timezone.now() + timedelta(hours=12)

    refresh_serialised(conn, conn.credentials_version, do_refresh)
    # Read back through a fresh query: the row itself holds the new token.
    assert Connection.objects.get(pk=conn.pk).secrets()["refresh_token"] == "rt-b-single-use"
