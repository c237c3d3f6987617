"""Every document ml-connector sends to Monday validates against the pinned SDL (through the sandbox)."""

from __future__ import annotations

import pytest

from integrations.monday import queries, sandbox


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_every_document_validates_against_the_schema(name):
    assert sandbox.validate(queries.ALL[name]) == []


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_every_document_asks_for_its_complexity(name):
    assert queries.COMPLEXITY in queries.ALL[name]


def test_the_validator_does_catch_a_bad_document():
    assert sandbox.validate("query { boards { no_such_field } }")
    assert sandbox.validate("mutation { create_item(item_name: 1) { id } }")


def test_the_client_sends_only_documents_from_this_module():
    import inspect

    from integrations.monday import boards, client, integration, oauth, sync

    for module in (boards, client, integration, oauth, sync):
        source = inspect.getsource(module)
        assert "mutation {" not in source and "query {" not in source, module.__name__
