"""Backfill through the API: an admin's token starts it, anyone in the tenant follows its progress."""

from __future__ import annotations

import pytest

from tests.core.test_backfill import books, invoices_in_sandbox, run  # noqa: F401 - the backfill's fixture

pytestmark = pytest.mark.django_db


def test_an_admin_starts_a_backfill_and_follows_it_to_the_end(books, api):  # noqa: F811
    source, target = books
    started = api["admin_a"].post(f"/api/v1/connections/{target.pk}/backfill/")
    assert started.status_code == 201, started.content
    backfill = started.json()
    assert backfill["source"] == source.pk and backfill["record_types"] == ["invoice"]
    again = api["admin_a"].post(f"/api/v1/connections/{target.pk}/backfill/")
    assert again.status_code == 409 and "already running" in again.json()["error"]["message"]
    run()
    progress = api["viewer_a"].get(f"/api/v1/backfills/{backfill['id']}/").json()["progress"]
    assert progress["finished"] and progress["done"] == progress["total"] == invoices_in_sandbox()
    listed = api["viewer_a"].get(f"/api/v1/backfills/?target={target.pk}").json()["results"]
    assert [b["id"] for b in listed] == [backfill["id"]]
    assert api["admin_b"].get(f"/api/v1/backfills/{backfill['id']}/").status_code == 404


def test_a_target_with_nothing_to_backfill_is_refused_in_words(api_world, api):
    conn = api_world["a"]["slack"]
    response = api["admin_a"].post(f"/api/v1/connections/{conn.pk}/backfill/")
    assert response.status_code == 409 and response.json()["error"]["message"] == (
        "Backfill not started: Slack has nothing to backfill."
    )
