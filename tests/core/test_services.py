"""The suite really runs on what CI asked for: PostgreSQL + Redis in that pass (fail, never skip)."""

import os

import pytest
from django.conf import settings
from django.db import connection


@pytest.mark.django_db
def test_it_runs_on_the_backends_ci_asked_for():
    with connection.cursor() as cur:
        cur.execute("select 1")
    if os.environ.get("MLCONNECTOR_REQUIRE_SERVICES") == "1":
        assert connection.vendor == "postgresql"
        assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
        assert "redis" in settings.Q_CLUSTER and "orm" not in settings.Q_CLUSTER
        from django_q.brokers import get_broker

        assert get_broker().ping()
        from django.core.cache import cache

        cache.set("ci-probe", "1", 5)
        assert cache.get("ci-probe") == "1"
    else:
        assert connection.vendor == "sqlite"
        assert settings.Q_CLUSTER.get("orm") == "default"
