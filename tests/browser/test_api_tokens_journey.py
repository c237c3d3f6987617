"""A person makes an API token in the browser, uses it from a script, and revokes it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.api_helpers import Api
from tests.browser.harness import login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_token_is_made_shown_once_used_and_revoked(page: Page, admin_a, tenant_a):
    page.goto("/")
    login(page, "alice")
    page.get_by_role("link", name="API", exact=True).click()
    expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
    page.get_by_label("Name").fill("nightly replay script")
    page.get_by_label("Expires").select_option("90")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("Copy it now: it is not shown again.")).to_be_visible()
    token = page.get_by_label("The new token").input_value()
    assert token.startswith("mlc_")
    screenshot(page, "api-tokens")

    answer = Api(token).get("/api/v1/connections/")
    assert answer.status_code == 200
    page.goto("/api-tokens/")
    expect(page.get_by_label("The new token")).to_have_count(0)
    row = page.get_by_role("row", name="nightly replay script")
    expect(row).to_contain_text("Active")

    row.get_by_text("Revoke…").click()
    row.get_by_role("button", name="Revoke nightly replay script").click()
    expect(page.get_by_text("Token “nightly replay script” revoked")).to_be_visible()
    expect(page.get_by_role("row", name="nightly replay script")).to_contain_text("Revoked")
    assert Api(token).get("/api/v1/connections/").status_code == 401
