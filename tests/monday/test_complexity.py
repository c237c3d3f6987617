"""The complexity budget: tracked per account from every response, waited for instead of refused."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from integrations.monday import budget, sandbox
from integrations.monday.client import MondayClient
from integrations.monday.sandbox import complexity as sandbox_complexity
from mlconnector.http import RateLimited
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db
INVOICES = "Invoices"


@pytest.fixture
def client(tenant_a):
    sandbox.reset()
    cache.clear()
    token = sandbox.issue_personal_token()
    conn = ConnectionFactory(
        tenant=tenant_a, provider="monday", credentials={"access_token": token}, external_account_id="27182818"
    )
    return MondayClient(conn)


def create(client: MondayClient, name: str = "Item") -> dict:
    return client.execute(
        "CreateItem", {"board": sandbox.board(INVOICES)["id"], "group": None, "name": name, "values": "{}"}
    )


def test_it_learns_the_remaining_budget_and_the_cost_of_each_operation(client):
    create(client)
    state = budget.state("27182818")
    assert state is not None and state.left < 10_000_000 and state.reset_at > time.time() + 50
    assert budget.expected_cost("CreateItem") > 10_000


def test_concurrent_callers_reserve_their_points_before_sending():
    cache.clear()
    budget.observe("acct", "CreateItem", {"before": 30, "after": 20, "query": 10, "reset_in_x_seconds": 30})
    assert budget.wait_needed("acct", "CreateItem") == 0
    assert budget.wait_needed("acct", "CreateItem") == 0
    # Two callers took the last 20 points: a third waits for the reset instead of being refused.
    assert 29 <= budget.wait_needed("acct", "CreateItem") <= 30


def test_the_earliest_reset_seen_in_a_window_is_kept():
    cache.clear()
    now = time.time()
    budget.observe("acct", "Me", {"before": 100, "after": 90, "query": 10, "reset_in_x_seconds": 30}, received=now)
    budget.observe("acct", "Me", {"before": 90, "after": 80, "query": 10, "reset_in_x_seconds": 30}, received=now + 0.6)
    state = budget.state("acct")
    assert state.left == 80 and abs(state.reset_at - (now + 30)) < 0.01


def test_a_call_that_does_not_fit_waits_for_the_reset_without_being_sent(client, settings):
    settings.MLCONNECTOR_MAX_INLINE_WAIT = 0.5
    sandbox.set_complexity_budget(25_000)  # two items
    create(client)
    create(client)
    calls = sandbox.stats()["calls"]
    with pytest.raises(RateLimited) as caught:
        create(client)
    assert 50 < caught.value.retry_after <= 60  # until the window resets
    assert sandbox.stats()["calls"] == calls  # not sent: no refused call burnt
    assert sandbox.stats().get("complexity_429s", 0) == 0


@pytest.mark.parametrize("in_200", [False, True])
def test_an_exhaustion_reported_by_monday_blocks_every_worker_until_the_time_named(client, settings, in_200):
    settings.MLCONNECTOR_MAX_INLINE_WAIT = 0.5
    settings.SANDBOX_MONDAY_COMPLEXITY_HTTP_200 = in_200
    sandbox.set_complexity_budget(25_000)
    create(client)
    create(client)
    cache.clear()  # this worker knows nothing of the budget: Monday has to tell it
    with pytest.raises(RateLimited) as caught:
        create(client)
    assert caught.value.code == "COMPLEXITY_BUDGET_EXHAUSTED" and caught.value.retry_after > 50
    assert sandbox.stats()["complexity_429s"] == 1
    other_worker = MondayClient(client.connection)
    with pytest.raises(RateLimited):
        create(other_worker)
    assert sandbox.stats()["complexity_429s"] == 1  # the block is shared; nothing else was sent


def test_a_short_wait_is_sat_out_and_the_call_goes_through(client, settings, monkeypatch):
    settings.MLCONNECTOR_MAX_INLINE_WAIT = 5
    monkeypatch.setattr(sandbox_complexity, "WINDOW_SECONDS", 2)
    sandbox.set_complexity_budget(25_000)
    started = time.monotonic()
    for n in range(3):
        create(client, f"Item {n}")
    assert 1.0 < time.monotonic() - started < 5
    assert len(sandbox.items(INVOICES)) == 3
    assert sandbox.stats().get("complexity_429s", 0) == 0
