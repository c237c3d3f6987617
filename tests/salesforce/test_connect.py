"""Connecting an org: My Domain only (login./test. refused with the reason), a wrong secret, an org
without API access, a missing client-credentials user: each a clear message, nothing stored."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations.salesforce import domain
from integrations.salesforce import sandbox as sf
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from tests.salesforce.helpers import MY_DOMAIN, connect_form, connect_salesforce

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def org():
    sf.reset()
    sf.reset(sf.DEMO_SANDBOX_HOST)


def refused(client, **overrides) -> str:
    response = client.post(reverse("salesforce-connect"), connect_form(**overrides))
    assert response.status_code == 400
    assert not Connection.objects.filter(provider="salesforce").exists()
    return response.content.decode()


@pytest.mark.parametrize("host", ["https://login.salesforce.com", "test.salesforce.com/"])
def test_a_login_domain_is_refused_with_the_reason_and_nothing_is_asked(as_admin_a, host):
    page = refused(as_admin_a, my_domain=host)
    assert "works only on your org&#x27;s own My Domain" in page and "request not supported on this domain" in page
    assert sf.sessions_issued() == 0  # refused before any call


def test_a_lightning_address_or_anything_else_says_what_a_my_domain_looks_like():
    with pytest.raises(domain.BadDomain, match="not of its API"):
        domain.normalise("https://acme.lightning.force.com")
    with pytest.raises(domain.BadDomain, match="is not a My Domain"):
        domain.normalise("https://example.com")
    assert domain.normalise("ACME.my.salesforce.com/") == "https://acme.my.salesforce.com"
    assert (
        domain.normalise("https://acme--uat.sandbox.my.salesforce.com") == "https://acme--uat.sandbox.my.salesforce.com"
    )


def test_a_wrong_secret_is_named_and_never_echoed_or_stored(as_admin_a):
    page = refused(as_admin_a, consumer_secret="not-the-real-secret-0001")
    assert "did not accept the consumer secret" in page and "not-the-real-secret-0001" not in page
    texts = " ".join(r.message for r in AuditRecord.objects.all())
    assert "not-the-real-secret-0001" not in texts and "consumer secret" in texts


def test_an_unknown_consumer_key_and_an_unknown_org_are_told_apart(as_admin_a):
    assert "does not know this consumer key" in refused(as_admin_a, consumer_key="3MVG9-some-other-app")
    assert "Nothing answered as a Salesforce org" in refused(as_admin_a, my_domain="https://nobody.my.salesforce.com")


def test_an_org_without_api_access_is_refused_at_connect_time(as_admin_a):
    sf.set_flag("api_enabled", False)
    page = refused(as_admin_a)
    assert "API_DISABLED_FOR_ORG" in page and "Enterprise, Unlimited, Performance and Developer" in page


def test_an_app_without_a_run_as_user_says_how_to_enable_the_flow(as_admin_a):
    sf.set_flag("run_as_user", False)
    assert "Enable Client Credentials Flow" in refused(as_admin_a)


def test_connecting_pins_the_newest_version_and_keeps_the_secret_encrypted(as_admin_a):
    sf.set_flag("max_version", "62.0")
    conn = connect_salesforce(as_admin_a)
    assert conn.config["api_version"] == "62.0" and conn.config["my_domain"] == MY_DOMAIN
    assert conn.name == "ML Connector Demo" and conn.external_account_id.startswith("00D")
    assert conn.config["won_stage"] == "Closed Won" and conn.config["missing_fields"] == []
    assert conn.secrets()["client_secret"] == sf.CONSUMER_SECRET
    from django.db import connection as db

    with db.cursor() as cur:
        cur.execute("SELECT credentials FROM connections_connection WHERE id = %s", [conn.pk])
        raw = str(cur.fetchone()[0])
    assert sf.CONSUMER_SECRET not in raw


def test_a_sandbox_org_connects_on_its_sandbox_my_domain(as_admin_a):
    conn = connect_salesforce(as_admin_a, my_domain=f"https://{sf.DEMO_SANDBOX_HOST}")
    assert conn.config["is_sandbox"] and conn.name == "ML Connector Demo (UAT sandbox)"


def test_a_missing_external_id_field_is_named_on_the_connection_page(as_admin_a):
    sf.remove_field("Account", "FreshBooks_Client_Id__c")
    conn = connect_salesforce(as_admin_a)
    page = as_admin_a.get(reverse("connection-detail", args=[conn.pk])).content.decode()
    assert "Create the field Account.FreshBooks_Client_Id__c in Salesforce" in page
    assert "Text</strong>, length 255" in page and "<strong>Unique</strong> and <strong>External ID</strong>" in page
    assert "are not written to Salesforce" in page


def test_reconnecting_with_another_orgs_credentials_is_refused(as_admin_a):
    conn = connect_salesforce(as_admin_a)
    response = as_admin_a.post(
        reverse("salesforce-connect") + f"?connection={conn.pk}",
        connect_form(my_domain=f"https://{sf.DEMO_SANDBOX_HOST}"),
    )
    assert response.status_code == 400 and "another Salesforce org" in response.content.decode()
    conn.refresh_from_db()
    assert conn.config["my_domain"] == MY_DOMAIN


def test_the_home_page_connects_through_the_salesforce_form(as_admin_a):
    page = as_admin_a.get(reverse("home")).content.decode()
    assert reverse("salesforce-connect") in page
    assert as_admin_a.get(reverse("salesforce-connect")).status_code == 200
