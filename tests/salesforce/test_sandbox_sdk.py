"""The official simple-salesforce client, pointed at the fake, works unchanged: client credentials
on the My Domain, upsert by external id (201 then 200), get by external id, SOQL with paging,
describe, limits and the Sforce-Limit-Info usage, a renewed session, and Salesforce's errors."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from integrations.salesforce import sandbox as sf
from integrations.salesforce.sandbox.transport import routed_session

pytestmark = pytest.mark.django_db
DOMAIN = sf.DEMO_HOST.removesuffix(".salesforce.com")  # "mlconnector-demo.my", as simple-salesforce wants it


@pytest.fixture
def client():
    sf.reset()
    return Salesforce(
        consumer_key=sf.CONSUMER_KEY,
        consumer_secret=sf.CONSUMER_SECRET,
        domain=DOMAIN,
        session=routed_session(),
        version="62.0",
    )


def test_it_signs_in_with_client_credentials_on_the_my_domain(client):
    assert client.sf_instance == sf.DEMO_HOST and client.session_id.startswith("00D")


def test_the_login_domain_is_refused_by_the_fake_as_by_salesforce():
    sf.reset()
    from simple_salesforce.login import SalesforceLogin

    # simple-salesforce itself will not try client credentials on login/test: ask the fake directly.
    with pytest.raises(SalesforceAuthenticationFailed, match="request not supported on this domain"):
        SalesforceLogin(
            consumer_key=sf.CONSUMER_KEY, consumer_secret=sf.CONSUMER_SECRET, domain="login.my", session=_LoginAsLogin()
        )


class _LoginAsLogin:
    """A session that sends `https://login.my.salesforce.com/...` to the fake's login.salesforce.com."""

    def __init__(self):
        self._inner = routed_session()

    def post(self, url, *args, **kwargs):
        return self._inner.post(url.replace("login.my.salesforce.com", "login.salesforce.com"), *args, **kwargs)


def test_upsert_by_external_id_creates_then_updates(client):
    accounts = client.Account
    assert accounts.upsert("FreshBooks_Client_Id__c/C-1", {"Name": "Initech"}) == 201
    assert accounts.upsert("FreshBooks_Client_Id__c/C-1", {"Name": "Initech Ltd"}) == 200
    found = accounts.get_by_custom_id("FreshBooks_Client_Id__c", "C-1")
    assert found["Name"] == "Initech Ltd" and len(sf.accounts()) == 1
    usage = accounts.api_usage["api-usage"]
    assert (usage.used, usage.total) == (3, 100000)


def test_query_follows_next_records_url(client):
    sf.set_flag("query_batch", 2)
    for n in range(5):
        client.Account.create({"Name": f"Account {n}"})
    result = client.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert result["totalSize"] == 5 and [r["Name"] for r in result["records"]] == [f"Account {n}" for n in range(5)]
    stages = client.query("SELECT ApiName FROM OpportunityStage WHERE IsActive = true AND IsWon = true")
    assert [r["ApiName"] for r in stages["records"]] == ["Closed Won"]


def test_describe_and_limits(client):
    fields = {f["name"]: f for f in client.Opportunity.describe()["fields"]}
    assert fields["FreshBooks_Invoice_Id__c"]["externalId"] and fields["StageName"]["type"] == "picklist"
    assert client.limits()["DailyApiRequests"]["Max"] == 100000


def test_an_ended_session_is_renewed_by_the_client(client):
    client.Account.create({"Name": "Before"})
    sf.end_sessions()
    client.Account.create({"Name": "After"})
    assert sf.sessions_issued() == 2


def test_salesforce_errors_arrive_as_the_clients_exceptions(client):
    with pytest.raises(SalesforceMalformedRequest) as raised:
        client.Opportunity.create({"Name": "No stage"})
    assert raised.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceResourceNotFound):
        client.Account.upsert("No_Such_Field__c/1", {"Name": "x"})
    client.Account.upsert("FreshBooks_Client_Id__c/D-1", {"Name": "Twin"})
    sf.add_record("Account", {"Name": "Twin", "FreshBooks_Client_Id__c": "D-1"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        client.Account.upsert("FreshBooks_Client_Id__c/D-1", {"Name": "Twin"})
