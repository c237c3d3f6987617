"""The README's "Scripting ml-connector" works as written: every curl line runs against a live server
with a real token, and docs/api/replay_failed.py (the API alone) creates a Slack rule, previews it,
lists the deliveries that failed since yesterday and replays them, touching nothing else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.slack.models import RoutingRule
from mlconnector.api import tokens
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery
from tests.api_helpers import build_world

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)


def readme_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Scripting ml-connector", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def live(live_server, tenant_a, tenant_b, admin_a, viewer_a, admin_b):
    world = build_world(tenant_a, tenant_b)
    _, token = tokens.issue(user=admin_a, tenant=tenant_a, name="readme")
    return {"url": live_server.url, "token": token, "world": world}


def _run(command: list[str], live, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        env={**os.environ, "MLC": live["url"], "TOKEN": live["token"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_curl_line_of_the_readme_runs(live):
    block = readme_block()
    curls = [line for line in block.splitlines() if line.startswith("curl ")]
    assert len(curls) == 7
    # The block as written, except that MLC and TOKEN come from this test.
    script = "set -euo pipefail\n" + re.sub(r"^export MLC=.*$", "", block, flags=re.M)
    done = _run(["bash", "-c", script], live)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count("{") >= len(curls)  # every curl printed its JSON answer
    rule = RoutingRule.objects.get()
    assert (rule.pk, rule.channel_name, rule.threshold) == (1, "exec-alerts", 5000)
    a, b = live["world"]["a"], live["world"]["b"]
    assert Delivery.objects.get(pk=a["delivery"].pk).replays == 1
    assert Delivery.objects.get(pk=b["delivery"].pk).replays == 0
    writes = [r.message for r in AuditRecord.objects.filter(kind="api").order_by("id")]
    assert len(writes) == 2 and all("with API token “readme”" in w for w in writes)


def test_the_example_script_uses_only_the_api_to_route_preview_and_replay(live):
    before = set(Connection.objects.values_list("pk", "status"))
    done = _run([sys.executable, str(ROOT / "docs" / "api" / "replay_failed.py")], live)
    assert done.returncode == 0, done.stderr + done.stdout
    a, b = live["world"]["a"], live["world"]["b"]
    lines = done.stdout.splitlines()
    assert lines[0].startswith("rule 1: Invoice created; amount at least 5,000.00 → #exec-alerts")
    assert lines[1] == "preview: would post 1 of the last 1 events"
    assert lines[2] == f"failed: delivery {a['delivery'].pk} to testsink (invoice.create): Slack said no"
    assert lines[3] == "replay: 1 queued for replay"
    # It connected nothing and changed no connection; it touched tenant A's failed delivery only.
    assert set(Connection.objects.values_list("pk", "status")) == before
    assert Delivery.objects.get(pk=a["delivery"].pk).status == "succeeded"
    assert Delivery.objects.get(pk=b["delivery"].pk).replays == 0
    # Run again: the Idempotency-Key keeps it to one rule, and nothing has failed any more.
    again = _run([sys.executable, str(ROOT / "docs" / "api" / "replay_failed.py")], live)
    assert again.returncode == 0 and RoutingRule.objects.count() == 1
    assert again.stdout.splitlines()[-1] == "replay: nothing failed since yesterday"


def test_a_viewers_token_cannot_run_it(live, viewer_a, tenant_a):
    _, token = tokens.issue(user=viewer_a, tenant=tenant_a, name="viewer")
    done = _run([sys.executable, str(ROOT / "docs" / "api" / "replay_failed.py")], live, TOKEN=token)
    assert done.returncode != 0 and "403 permission_denied" in done.stderr
    assert not RoutingRule.objects.exists()
