"""After a full flow, no secret appears in plain text in any table or in the log file."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from integrations.freshbooks.models import FreshBooksCallback
from integrations.sandbox import faults
from integrations.sandbox.models import SandboxFault, SandboxToken
from mlconnector.connections.models import Connection
from mlconnector.pipeline import dispatcher
from tests.conftest import client_for
from tests.freshbooks.test_flow import connect_freshbooks, create_invoice
from tests.pipeline_helpers import sink_connection
from tests.testsink.sandbox import API_KEY

pytestmark = pytest.mark.django_db


def every_stored_value() -> str:
    """Every column of every row of every table, as text (bytes decoded leniently, and as base64)."""
    parts = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names():
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cur.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        raw = bytes(value)
                        parts.append(raw.decode("latin-1"))
                    elif value is not None:
                        parts.append(str(value))
    text = "\n".join(parts)
    # Pickled or base64-wrapped blobs (django-q2 task args, dumpdata) must not hide a secret either.
    decoded = []
    for token in text.split():
        if len(token) > 16:
            try:
                decoded.append(base64.b64decode(token, validate=True).decode("latin-1"))
            except ValueError:
                pass
    return text + "\n".join(decoded)


def log_position() -> int:
    log_file = Path(settings.MLCONNECTOR_LOG_FILE)
    return log_file.stat().st_size if log_file.exists() else 0


def assert_nowhere(secrets, log_start: int) -> None:
    """None of `secrets` is in any table (raw, JSON-quoted or base64) or in what was logged since."""
    dump = every_stored_value()
    log_file = Path(settings.MLCONNECTOR_LOG_FILE)
    logged = log_file.read_bytes()[log_start:].decode("utf-8", "replace") if log_file.exists() else ""
    assert logged, "the test run should have written log lines"
    for secret in secrets:
        assert secret not in dump, f"a secret ({secret[:4]}…) is stored in plain text"
        assert json.dumps(secret) not in dump, f"a secret ({secret[:4]}…) is stored in plain text"
        assert secret not in logged, f"a secret ({secret[:4]}…) was logged"


def test_no_secret_survives_in_a_database_dump_or_the_logs(tenant_a, admin_a):
    from integrations.freshbooks.sandbox import seed_demo

    seed_demo()
    sink_connection(tenant_a)
    log_start = log_position()

    connect_freshbooks(client_for(admin_a))  # OAuth code, tokens, callback verifiers
    first_generation = dict(Connection.objects.get(provider="freshbooks").credentials)
    create_invoice("6000.00")  # signed webhook
    dispatcher.tick()  # enrichment with the token, delivery with the sink's API key
    conn = Connection.objects.get(provider="freshbooks")
    # Force a refresh (a second generation of tokens) and a revoked-token failure, both logged.
    faults.add("freshbooks", status=401, body={"error": "unauthenticated"}, match="/users/me")
    conn.integration.check()
    faults.add("freshbooks", kind=SandboxFault.Kind.REVOKE, match="/users/me")
    try:
        conn.integration.check()
    except Exception:  # noqa: BLE001 - the failure is the point: it gets logged and audited
        pass

    conn = Connection.objects.get(pk=conn.pk)
    secrets = {
        settings.FRESHBOOKS_CLIENT_SECRET,
        API_KEY,
        conn.credentials["access_token"],
        conn.credentials["refresh_token"],
        first_generation["access_token"],
        first_generation["refresh_token"],
        *(cb.verifier for cb in FreshBooksCallback.objects.all()),
        *settings.MLCONNECTOR_ENCRYPTION_KEYS,
    }
    secrets = {s for s in secrets if isinstance(s, str) and len(s) >= 8}
    assert len(secrets) >= 8 and first_generation["refresh_token"] != conn.credentials["refresh_token"]
    # The sandbox kept hashes of every token it issued; none of them is stored raw anywhere.
    assert SandboxToken.objects.filter(provider="freshbooks").count() >= 4

    assert_nowhere(secrets, log_start)


def test_an_error_message_from_a_provider_is_redacted_before_it_is_stored():
    from mlconnector.audit.redaction import redact_text, remember_secret

    remember_secret("xoxb-fake-0")
    text = redact_text("refused token xoxb-fake-0 and Bearer abcdefghijklmnop")
    assert "xoxb-fake-0" not in text and "abcdefghijklmnop" not in text
