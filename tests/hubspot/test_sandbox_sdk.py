"""The official HubSpot client (hubspot-api-client), pointed at the sandbox, works unchanged over a real
socket: HubSpot generated it from the same API, so it is the outside witness that the fake speaks
HubSpot's protocol (Bearer private app tokens, batch upsert by email, 409 bodies, v4 associations,
search paging, error shapes), not just what our own client expects."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import BatchInputPublicDefaultAssociationMultiPost
from hubspot.crm.companies import SimplePublicObjectInputForCreate as CompanyInput
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsError

from integrations.hubspot import sandbox


@pytest.fixture
def hubspot(live_server, transactional_db) -> HubSpot:
    sandbox.reset()
    return HubSpot(access_token=sandbox.issue_token(), host=f"{live_server.url}/sandbox/hubspot/api")


def test_the_official_client_creates_upserts_searches_and_associates_against_the_sandbox(hubspot):
    contacts = hubspot.crm.contacts
    made = contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties={"email": "ada@example.com", "firstname": "Ada"})
    )
    assert made.id and made.properties["email"] == "ada@example.com"

    # Creating the same email again: 409 CONFLICT naming the existing contact.
    with pytest.raises(ContactsError) as conflict:
        contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"email": "ada@example.com"}))
    body = json.loads(conflict.value.body)
    assert conflict.value.status == 409 and body["category"] == "CONFLICT"
    assert f"Existing ID: {made.id}" in body["message"]

    # batch/upsert by email: the existing contact is updated (new: false), a new one created.
    upserted = contacts.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="ada@example.com", id_property="email", properties={"lastname": "Lovelace"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="alan@example.com", id_property="email", properties={"firstname": "Alan"}
                ),
            ]
        )
    )
    by_email = {r.properties.get("email"): r for r in upserted.results}
    assert by_email["ada@example.com"].id == made.id and by_email["ada@example.com"].new is False
    assert by_email["alan@example.com"].new is True

    found = contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[{"filters": [{"propertyName": "lastname", "operator": "EQ", "value": "Lovelace"}]}]
        )
    )
    assert found.total == 1 and found.results[0].id == made.id

    company = hubspot.crm.companies.basic_api.create(CompanyInput(properties={"name": "Analytical Engines"}))
    hubspot.crm.associations.v4.batch_api.create_default(
        "contacts",
        "companies",
        BatchInputPublicDefaultAssociationMultiPost(inputs=[{"from": {"id": made.id}, "to": {"id": company.id}}]),
    )
    assert sandbox.associations("contacts", made.id, "companies") == [company.id]

    page = contacts.basic_api.get_page(limit=1)
    assert len(page.results) == 1 and page.paging.next.after
    assert contacts.basic_api.get_by_id(made.id, properties=["lastname"]).properties["lastname"] == "Lovelace"


def test_the_official_client_reads_the_sandboxs_errors(hubspot):
    bad = HubSpot(
        access_token="pat-na1-not-a-real-token-for-tests",
        host=hubspot.crm.contacts.basic_api.api_client.configuration.host,
    )
    with pytest.raises(ContactsError) as refused:
        bad.crm.contacts.basic_api.get_page()
    assert refused.value.status == 401 and json.loads(refused.value.body)["category"] == "INVALID_AUTHENTICATION"
    with pytest.raises(ContactsError) as invalid:
        hubspot.crm.contacts.basic_api.create(SimplePublicObjectInputForCreate(properties={"no_such_property": "x"}))
    assert invalid.value.status == 400 and "PROPERTY_DOESNT_EXIST" in json.loads(invalid.value.body)["message"]
