"""Shared rate-limit state (the database on the default run, Redis on the CI services run)."""

import pytest

from mlconnector.ratelimit import limiter

pytestmark = pytest.mark.django_db


def test_a_block_is_seen_by_everyone_until_it_expires():
    lim = limiter()
    assert lim.blocked_for("p:1") == 0
    lim.block("p:1", 30)
    assert 29 < lim.blocked_for("p:1") <= 30
    lim.block("p:1", 5)  # a shorter block never shortens a longer one
    assert lim.blocked_for("p:1") > 20
    assert lim.blocked_for("p:2") == 0


def test_reserving_slots_paces_callers_and_refuses_beyond_the_horizon():
    lim = limiter()
    waits = [lim.reserve("chan:1", interval=1.0, max_wait=3.0) for _ in range(5)]
    assert waits[0] == pytest.approx(0, abs=0.05)
    assert waits[1] == pytest.approx(1, abs=0.1) and waits[3] == pytest.approx(3, abs=0.1)
    assert waits[4] is None  # would wait 4 s > 3 s: nothing reserved, the caller defers
    assert lim.reserve("chan:2", interval=1.0, max_wait=3.0) == pytest.approx(0, abs=0.05)
