"""Shared fixtures: the three personas (admin of A, viewer of A, admin of B) and the sandbox."""

from __future__ import annotations

import os
from datetime import datetime

import pytest
from django.test import Client

from mlconnector.tenants.models import Membership
from tests.factories import MembershipFactory, TenantFactory, UserFactory


@pytest.fixture(scope="session", autouse=True)
def _release_test_database(django_db_setup, django_db_blocker):
    """Close sessions other threads left open (the live server's), so the test database can be dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(scope="session", autouse=True)
def _shifted_clock():
    """MLCONNECTOR_TEST_CLOCK=2026-12-01T00:30:00+00:00 runs the suite as if started then (the clock
    keeps ticking), to find anything that depends on the hour. Processes a live test starts keep the
    real clock, so run it without -m live."""
    when = os.environ.get("MLCONNECTOR_TEST_CLOCK")
    if not when:
        yield
        return
    import time_machine

    with time_machine.travel(datetime.fromisoformat(when), tick=True):
        yield


@pytest.fixture(autouse=True)
def _fresh_process_state(settings):
    """Caches that live in process memory must not leak between tests."""
    from mlconnector.crypto import _keyring_for
    from mlconnector.webhooks import endpoints

    endpoints.clear()
    _keyring_for.cache_clear()
    if settings.REDIS_URL:
        # Redis outlives the test's database transaction: start every test with no rate-limit state.
        from django.core.cache import cache

        from mlconnector.ratelimit import limiter

        limiter().reset()
        cache.clear()
    yield
    endpoints.clear()
    _keyring_for.cache_clear()


@pytest.fixture
def tenant_a(db):
    return TenantFactory(name="Acme Ltd", slug="acme")


@pytest.fixture
def tenant_b(db):
    return TenantFactory(name="Bravo plc", slug="bravo")


@pytest.fixture
def admin_a(tenant_a):
    return MembershipFactory(tenant=tenant_a, role=Membership.Role.ADMIN, user=UserFactory(username="alice")).user


@pytest.fixture
def viewer_a(tenant_a):
    return MembershipFactory(tenant=tenant_a, role=Membership.Role.VIEWER, user=UserFactory(username="victor")).user


@pytest.fixture
def admin_b(tenant_b):
    return MembershipFactory(tenant=tenant_b, role=Membership.Role.ADMIN, user=UserFactory(username="bob")).user


@pytest.fixture
def personas(admin_a, viewer_a, admin_b):
    return {"admin_a": admin_a, "viewer_a": viewer_a, "admin_b": admin_b}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def as_admin_a(admin_a):
    return client_for(admin_a)


@pytest.fixture
def as_viewer_a(viewer_a):
    return client_for(viewer_a)


@pytest.fixture
def as_admin_b(admin_b):
    return client_for(admin_b)


# --- the API: a world in both tenants, and a bearer-token client per persona ------------------


@pytest.fixture
def api_world(tenant_a, tenant_b, personas):
    from tests.api_helpers import build_world

    return build_world(tenant_a, tenant_b)


@pytest.fixture
def api_tokens(personas, tenant_a, tenant_b) -> dict[str, str]:
    """A personal API token for each persona, in that persona's tenant."""
    from mlconnector.api import tokens

    made = {}
    for name, user in personas.items():
        tenant = tenant_b if name == "admin_b" else tenant_a
        made[name] = tokens.issue(user=user, tenant=tenant, name=f"{name} script")[1]
    return made


@pytest.fixture
def api(api_tokens):
    from tests.api_helpers import Api

    return {name: Api(token) for name, token in api_tokens.items()}
