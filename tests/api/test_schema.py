"""The OpenAPI schema: the checked-in docs/api/openapi.yaml is what the code generates (so a change to
the API is a change to that file), the docs page serves it without any CDN, and schemathesis sends
generated requests to every operation: no 500s, every answer matches the schema, bad input gets a
4xx with the error body."""

from __future__ import annotations

import difflib
import io
from pathlib import Path

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mlconnector.api.v1.errors import is_error_body

ARTIFACT = Path(__file__).resolve().parents[2] / "docs" / "api" / "openapi.yaml"


def generated() -> str:
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    return out.getvalue()


def test_the_checked_in_schema_is_what_the_code_generates():
    expected, actual = ARTIFACT.read_text(), generated()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), "checked in", "code"))
    assert not diff, f"docs/api/openapi.yaml is stale: run `make api-schema` and commit it.\n{diff[:4000]}"


@pytest.mark.django_db
def test_the_schema_and_its_docs_page_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200 and schema.json()["info"]["title"] == "ml-connector API"
    docs = client.get("/api/v1/docs/")
    html = docs.content.decode()
    assert docs.status_code == 200 and "swagger-ui" in html and "/api/v1/schema/" in html
    assert "cdn." not in html and "unpkg" not in html and "https://" not in html.replace("https://swagger.io", "")
    script = next(part.split('"')[0] for part in html.split('src="')[1:] if "swagger-ui-bundle" in part)
    assert client.get(script).status_code == 200  # served by us, from drf-spectacular-sidecar


def test_every_operation_documents_the_error_body():
    schema = yaml.safe_load(ARTIFACT.read_text())
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "401", "403", "404", "429"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref == "#/components/schemas/Error", (method, path, status)


# --- schemathesis ---------------------------------------------------------------------------------

schema = schemathesis.openapi.from_dict(yaml.safe_load(ARTIFACT.read_text()))
schema.app = get_wsgi_application()


def error_body_on_4xx(ctx, response, case):
    """Every refusal carries {"error": {"code", "message", "fields"}}."""
    if 400 <= response.status_code < 500 and not is_error_body(response.content):
        raise AssertionError(f"{response.status_code} without the error body: {response.content[:300]!r}")


@pytest.fixture
def in_test_transaction(monkeypatch):
    """The WSGI app closes the database connection after each request, as in production; inside a test
    transaction it must not (django.test.Client keeps it open the same way, and reconnects its own
    receivers after each of its requests, so they are not disconnected here: the close is a no-op)."""
    from django.db import connections

    for conn in connections.all():
        monkeypatch.setattr(conn, "close_if_unusable_or_obsolete", lambda: None)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body_on_4xx,
]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_its_schema_for_an_admins_token(case, api_world, api_tokens, in_test_transaction):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_tokens['admin_a']}"}, checks=CHECKS)
