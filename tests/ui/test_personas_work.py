"""A connection's own work on its page: the backfill and each job's interval, for the three personas."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mlconnector.pipeline.models import Backfill, ConnectionJob
from tests.conftest import client_for
from tests.factories import ConnectionFactory
from tests.freshbooks.helpers import sandbox_source
from tests.testsink.sandbox import API_KEY

pytestmark = pytest.mark.django_db

COVERED_VIEWS = {"connection-backfill", "connection-backfill-cancel", "connection-job-interval"}


@pytest.fixture
def world(tenant_a):
    source = sandbox_source(tenant_a)
    target = ConnectionFactory(tenant=tenant_a, provider="testbatch", credentials={"api_key": API_KEY}, config={})
    return source, target


def test_an_admin_starts_and_cancels_a_backfill_and_sees_its_progress(world, admin_a):
    source, target = world
    client = client_for(admin_a)
    page = client.get(reverse("connection-detail", args=[target.pk])).content.decode()
    assert "Backfill from FreshBooks" in page and "running it again writes nothing new" in page
    response = client.post(reverse("connection-backfill", args=[target.pk]), follow=True)
    assert "Backfill from FreshBooks started" in response.content.decode()
    job = Backfill.objects.get(target=target)
    page = client.get(reverse("connection-detail", args=[target.pk])).content.decode()
    assert "<progress" in page and "Cancel the backfill" in page
    client.post(reverse("connection-backfill-cancel", args=[target.pk, job.pk]))
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_a_viewer_sees_the_work_but_cannot_start_or_change_it(world, viewer_a):
    source, target = world
    client = client_for(viewer_a)
    page = client.get(reverse("connection-detail", args=[source.pk])).content.decode()
    assert "On a schedule" in page and "Polling backstop" in page and 'name="minutes"' not in page
    assert client.post(reverse("connection-backfill", args=[target.pk])).status_code == 403
    job = ConnectionJob.objects.get(connection=source, name="poll")
    url = reverse("connection-job-interval", args=[source.pk, job.pk])
    assert client.post(url, {"minutes": "5"}).status_code == 403
    assert not Backfill.objects.exists()
    job.refresh_from_db()
    assert job.every_seconds == 15 * 60


def test_another_tenant_reaches_none_of_it(world, admin_b):
    source, target = world
    client = client_for(admin_b)
    assert client.post(reverse("connection-backfill", args=[target.pk])).status_code == 404
    job = ConnectionJob.objects.get(connection=source, name="poll")
    assert (
        client.post(reverse("connection-job-interval", args=[source.pk, job.pk]), {"minutes": "5"}).status_code == 404
    )
    assert client.post(reverse("connection-backfill-cancel", args=[target.pk, 999])).status_code == 404


def test_an_admin_sets_a_jobs_interval_and_bad_input_changes_nothing(world, admin_a):
    source, _ = world
    client = client_for(admin_a)
    job = ConnectionJob.objects.get(connection=source, name="poll")
    url = reverse("connection-job-interval", args=[source.pk, job.pk])
    for bad in ("0", "-5", "abc", "", "99999"):
        page = client.post(url, {"minutes": bad}, follow=True).content.decode()
        assert "Enter a whole number of minutes" in page
    job.refresh_from_db()
    assert job.every_seconds == 15 * 60
    page = client.post(url, {"minutes": "5"}, follow=True).content.decode()
    assert "Polling backstop now runs every 5 minutes." in page
    job.refresh_from_db()
    assert job.every_seconds == 300
    assert 'value="5"' in client.get(reverse("connection-detail", args=[source.pk])).content.decode()
