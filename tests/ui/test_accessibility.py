"""Every aria-describedby on the product's pages points at text that is on the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.conftest import client_for
from tests.factories import ConnectionFactory, DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db


def dangling_references(html: str) -> set[str]:
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = {ref for refs in re.findall(r'aria-describedby="([^"]+)"', html) for ref in refs.split()}
    return wanted - ids


def test_every_described_by_points_at_real_text(tenant_a, admin_a, viewer_a):
    books = ConnectionFactory(tenant=tenant_a, name="Books")
    event = InboundEventFactory(connection=books)
    DeliveryFactory(event=event, status="failed")
    pages = [
        reverse("home"),
        reverse("audit-events"),
        reverse("audit-events") + "?since=2026-05-02&until=2026-05-01",  # a form with an error
        reverse("audit-event", args=[event.pk]),
        reverse("connection-detail", args=[books.pk]),
        reverse("tenant-team"),
    ]
    for user in (admin_a, viewer_a):
        client = client_for(user)
        for url in pages:
            html = client.get(url).content.decode()
            assert dangling_references(html) == set(), (user.username, url)
    assert dangling_references(client_for(admin_a).get(reverse("login")).content.decode()) == set()


def test_a_form_with_an_error_says_so_at_the_top_and_next_to_the_field(tenant_a, admin_a):
    html = client_for(admin_a).post(reverse("tenant-invite"), {"email": "not an email", "role": "admin"}).content
    html = html.decode()
    assert "One thing to fix" in html and "nothing was changed" in html
    assert 'href="#id_email"' in html and 'id="id_email_error"' in html and 'aria-invalid="true"' in html
    assert dangling_references(html) == set()
