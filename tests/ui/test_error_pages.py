"""Error pages in the product's look with a way back, a quiet 403 in the log, and a nav that always
says where you are."""

from __future__ import annotations

import logging

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.conftest import client_for
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_products_404_with_a_way_back(admin_a):
    page = client_for(admin_a).get("/no/such/page/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "Nothing here" in text and "Back to your connections" in text and 'class="top"' in text


def test_a_forbidden_action_is_the_products_403_and_one_quiet_log_line(viewer_a, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        page = client_for(viewer_a).post(reverse("tenant-invite"), {"email": "x@example.com", "role": "viewer"})
    assert page.status_code == 403
    assert "You can't do that here" in page.content.decode()
    lines = [
        r
        for r in caplog.records
        if r.name == "django.request" and "403" in r.getMessage() or "Forbidden" in r.getMessage()
    ]
    assert lines and all(r.levelno == logging.INFO and not r.exc_info for r in lines)


def test_a_get_on_a_post_only_address_explains_itself(admin_a):
    page = client_for(admin_a).get(reverse("tenant-invite"))
    assert page.status_code == 405 and page["Allow"] == "POST"
    assert "That is done with a button, not a link" in page.content.decode()


def test_the_api_and_webhooks_keep_their_own_bare_answers(admin_a):
    assert client_for(admin_a).get("/hooks/freshbooks/nope/").status_code in (404, 405)
    assert b"Back to your connections" not in client_for(admin_a).get("/hooks/freshbooks/nope/").content


def test_the_500_page_needs_nothing_but_itself():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and b"Something went wrong on our side" in response.content


def test_there_is_a_favicon(client):
    assert client.get("/favicon.ico").status_code == 301
    assert b'rel="icon"' in client.get(reverse("login")).content


@pytest.mark.parametrize(
    "path, section",
    [
        ("/", "Connections"),
        ("/audit/", "Audit log"),
        ("/team/", "Team"),
        ("/slack/rules/", "Connections"),
    ],
)
def test_the_nav_marks_the_current_section_on_every_page(admin_a, tenant_a, path, section):
    ConnectionFactory(tenant=tenant_a, provider="slack", credentials={}, config={})
    page = client_for(admin_a).get(path, follow=True).content.decode()
    current = page.split("aria-current=")[1].split("</a>")[0]
    assert current.endswith(section), (path, current)
