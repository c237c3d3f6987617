"""/api/v1/ for the three personas' tokens and the browser session: scoping, roles, one error body,
cursor pages, format suffixes, Idempotency-Key, the rate limit, audited writes, the old /api/."""

from __future__ import annotations

import pytest
from django.test import Client

from mlconnector.api.v1.errors import is_error_body
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.models import Delivery
from tests.api_helpers import Api
from tests.conftest import client_for
from tests.factories import DeliveryFactory, InboundEventFactory

pytestmark = pytest.mark.django_db


def _routes(api_world, label):
    w = api_world[label]
    return {
        "connection": (f"/api/v1/connections/{w['books'].pk}/", "/api/v1/connections/", w["books"].pk),
        "event": (f"/api/v1/events/{w['event'].pk}/", "/api/v1/events/", w["event"].pk),
        "delivery": (f"/api/v1/deliveries/{w['delivery'].pk}/", "/api/v1/deliveries/", w["delivery"].pk),
    }


@pytest.mark.parametrize("kind", ["connection", "event", "delivery"])
def test_each_token_sees_its_own_tenant_and_nothing_of_the_other(api_world, api, kind):
    for persona, own, other in (("admin_a", "a", "b"), ("viewer_a", "a", "b"), ("admin_b", "b", "a")):
        client = api[persona]
        detail, listing, pk = _routes(api_world, own)[kind]
        ids = {row["id"] for row in client.get(listing).json()["results"]}
        assert pk in ids and _routes(api_world, other)[kind][2] not in ids, persona
        assert client.get(detail).status_code == 200
        response = client.get(_routes(api_world, other)[kind][0])
        assert response.status_code == 404 and is_error_body(response.content), persona


def test_a_token_of_a_member_of_two_tenants_reaches_only_its_own_tenant(api_world, personas, tenant_b):
    from mlconnector.api import tokens
    from mlconnector.tenants.models import Membership

    Membership.objects.create(user=personas["admin_a"], tenant=tenant_b, role="admin")
    _, token_b = tokens.issue(user=personas["admin_a"], tenant=tenant_b, name="b only")
    client = Api(token_b)
    assert client.get(f"/api/v1/events/{api_world['a']['event'].pk}/").status_code == 404
    assert client.get(f"/api/v1/events/{api_world['b']['event'].pk}/").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/connections/{books}/pause/", {}),
        ("/api/v1/connections/{books}/disconnect/", {}),
        ("/api/v1/deliveries/{delivery}/replay/", {}),
        ("/api/v1/deliveries/replay/", {"delivery": "failed"}),
        ("/api/v1/invitations/", {"email": "new@example.com", "role": "viewer"}),
        ("/api/v1/connections/{books}/backfill/", {}),
    ],
)
def test_a_viewers_token_reads_but_changes_nothing(api_world, api, path, body):
    a = api_world["a"]
    url = path.format(books=a["books"].pk, delivery=a["delivery"].pk)
    response = api["viewer_a"].post(url, body)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert "victor is a viewer" in response.json()["error"]["message"]
    a["books"].refresh_from_db()
    a["delivery"].refresh_from_db()
    assert a["books"].status == "active" and a["delivery"].replays == 0
    assert not AuditRecord.objects.filter(kind="api").exists()


def test_a_viewer_may_test_a_connection_and_count_a_bulk_replay(api_world, api):
    a = api_world["a"]
    response = api["viewer_a"].post(f"/api/v1/connections/{a['books'].pk}/test/")
    assert response.status_code == 200 and "ok" in response.json()
    response = api["viewer_a"].post("/api/v1/deliveries/replay/", {"dry_run": True, "delivery": "failed"})
    assert response.status_code == 200 and response.json()["count"] == 1


def test_an_admin_pauses_and_resumes_and_each_write_is_audited_with_the_tokens_name(api_world, api):
    conn = api_world["a"]["delivery"].connection
    response = api["admin_a"].post(f"/api/v1/connections/{conn.pk}/pause/")
    assert response.status_code == 200 and response.json()["connection"]["status"] == "paused"
    again = api["admin_a"].post(f"/api/v1/connections/{conn.pk}/pause/")
    assert again.status_code == 409 and again.json()["error"]["message"].startswith("Cannot pause")
    assert api["admin_a"].post(f"/api/v1/connections/{conn.pk}/resume/").json()["connection"]["status"] == "active"
    # The connection page's "Setup and changes" names the token too.
    changes = [r.message for r in AuditRecord.objects.filter(kind="connection", connection=conn)]
    assert "status active → paused: pause by alice with API token “admin_a script”" in changes
    writes = [r.message for r in AuditRecord.objects.filter(kind="api").order_by("id")]
    assert writes == [
        f"POST /api/v1/connections/{conn.pk}/pause/ by alice with API token “admin_a script”",
        f"POST /api/v1/connections/{conn.pk}/resume/ by alice with API token “admin_a script”",
    ]


def test_the_session_keeps_working_with_csrf(api_world, personas):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(personas["admin_a"])
    assert browser.get("/api/v1/events/").status_code == 200
    url = f"/api/v1/connections/{api_world['a']['books'].pk}/pause/"
    refused = browser.post(url, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    browser.get("/api-tokens/")  # any page sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    assert browser.post(url, content_type="application/json", headers={"X-CSRFToken": token}).status_code == 200


def test_anonymous_calls_get_401_with_the_error_body(api_world):
    response = Client().get("/api/v1/events/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


def test_lists_are_cursor_paged(api_world, api):
    for _ in range(4):
        InboundEventFactory(connection=api_world["a"]["books"])
    client = api["admin_a"]
    seen, url = [], "/api/v1/events/?limit=2"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 2
        seen += [e["id"] for e in page["results"]]
        url = page["next"]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/nothing-here/", 404, "not_found"),
        ("delete", "/api/v1/connections/", 405, "method_not_allowed"),
        ("get", "/api/v1/events/?since=yesterday", 400, "invalid"),
        ("get", "/api/v1/events/?status=nope", 400, "invalid"),
        ("get", "/api/v1/events/999999/", 404, "not_found"),
        ("get", "/api/v1/events.xml", 404, "not_found"),
        ("get", "/api/v1/deliveries/?cursor=garbage", 404, "not_found"),
    ],
)
def test_every_failure_has_one_error_body(api_world, api, method, path, status, code):
    response = getattr(api["admin_a"], method)(path)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and isinstance(error["fields"], dict)


def test_invalid_input_names_the_field(api_world, api):
    response = api["admin_a"].get("/api/v1/events/?since=2026-13-45")
    assert response.json()["error"]["fields"] == {"since": ["Enter a valid date."]}
    bad_json = api["admin_a"].generic(
        "POST",
        "/api/v1/deliveries/replay/",
        b"{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {api['admin_a'].token}"},
    )
    assert bad_json.status_code == 400 and bad_json.json()["error"]["code"] == "parse_error"


def test_a_crash_inside_a_view_is_a_500_with_the_error_body(api_world, api, monkeypatch):
    from mlconnector.api.v1 import views

    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(views.outcomes, "attach", boom)
    response = api["admin_a"].get("/api/v1/events/")
    assert response.status_code == 500 and response.json()["error"]["code"] == "server_error"
    assert "kaboom" not in response.content.decode()


def test_every_route_answers_with_its_format_suffix(api_world, api):
    a = api_world["a"]
    client = api["admin_a"]
    for path in (
        "/api/v1/connections.json",
        f"/api/v1/connections/{a['books'].pk}.json",
        "/api/v1/events.json",
        f"/api/v1/events/{a['event'].pk}.json",
        "/api/v1/deliveries.json",
        f"/api/v1/deliveries/{a['delivery'].pk}.json",
        "/api/v1/members.json",
        "/api/v1/invitations.json",
        "/api/v1/backfills.json",
        "/api/v1/slack/rules.json",
        "/api/v1/slack/channels.json",
    ):
        response = client.get(path)
        assert response.status_code == 200 and response["Content-Type"] == "application/json", path
    response = client.post(f"/api/v1/deliveries/{a['delivery'].pk}/replay.json/")
    assert response.status_code == 200 and response.json()["queued"] == [a["delivery"].pk]
    response = client.post("/api/v1/deliveries/replay.json", {"dry_run": True})
    assert response.status_code == 200


def test_an_idempotency_key_replays_the_first_answer(api_world, api):
    client, delivery = api["admin_a"], api_world["a"]["delivery"]
    url = f"/api/v1/deliveries/{delivery.pk}/replay/"
    first = client.post(url, {}, headers={"Idempotency-Key": "replay-1"})
    second = client.post(url, {}, headers={"Idempotency-Key": "replay-1"})
    assert first.json()["queued"] == [delivery.pk]
    assert second.status_code == first.status_code and second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    delivery.refresh_from_db()
    assert delivery.replays == 1
    replays = [r.message for r in AuditRecord.objects.filter(kind="replay", delivery=delivery)]
    assert replays == ["replay by alice with API token “admin_a script” (was failed)"]
    assert AuditRecord.objects.filter(kind="api").count() == 1
    reused = client.post(url, {"resend": True}, headers={"Idempotency-Key": "replay-1"})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    other_token = Api(api["admin_a"].token)  # the key belongs to the token: same token, same answer
    assert other_token.post(url, {}, headers={"Idempotency-Key": "replay-1"})["Idempotent-Replayed"] == "true"


def test_the_rate_limit_is_per_token_with_its_headers(api_world, api, settings):
    settings.MLCONNECTOR_API_RATE_LIMIT = 3
    settings.MLCONNECTOR_API_RATE_WINDOW = 60
    answers = [api["admin_a"].get("/api/v1/events/") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r["RateLimit-Remaining"] for r in answers[:3]] == ["2", "1", "0"]
    assert all(r["RateLimit-Limit"] == "3" for r in answers)
    limited = answers[3]
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited["Retry-After"]) == 20
    assert api["viewer_a"].get("/api/v1/events/").status_code == 200  # another token has its own budget


def test_bulk_replay_counts_first_and_replays_exactly_what_was_counted(api_world, api):
    extra = DeliveryFactory(event=api_world["a"]["event"])
    client = api["admin_a"]
    dry = client.post("/api/v1/deliveries/replay/", {"dry_run": True, "delivery": "failed"}).json()
    assert dry["count"] == 2 and dry["by_provider"] == {"testsink": 2}
    assert Delivery.objects.filter(replays__gt=0).count() == 0
    stale = client.post("/api/v1/deliveries/replay/", {"delivery": "failed", "expected_count": 5})
    assert stale.status_code == 409 and "2 failed deliveries match now" in stale.json()["error"]["message"]
    done = client.post("/api/v1/deliveries/replay/", {"delivery": "failed", "expected_count": 2}).json()
    assert sorted(done["queued"]) == sorted([api_world["a"]["delivery"].pk, extra.pk])
    assert api_world["b"]["delivery"].pk not in done["queued"]


def test_an_event_tells_its_timeline_and_its_payload_only_to_admins(api_world, api):
    from tests.factories import AuditRecordFactory

    event = api_world["a"]["event"]
    AuditRecordFactory(tenant=event.tenant, event=event, kind="event.enriched", message="fetched invoice 42")
    body = api["admin_a"].get(f"/api/v1/events/{event.pk}/").json()
    assert [t["step"] for t in body["timeline"]] == ["Enriched"]
    assert (
        body["deliveries"][0]["id"] == api_world["a"]["delivery"].pk and body["payload"]["invoice_number"] == "0000042"
    )
    assert api["viewer_a"].get(f"/api/v1/events/{event.pk}/").json()["payload"] is None


def test_the_team_and_invitations(api_world, api, mailoutbox):
    client = api["admin_a"]
    assert {m["username"] for m in client.get("/api/v1/members/").json()["results"]} == {"alice", "victor"}
    refused = client.post("/api/v1/invitations/", {"email": "victor@example.com"})
    assert refused.status_code == 400 and "already a member" in refused.json()["error"]["fields"]["email"][0]
    made = client.post("/api/v1/invitations/", {"email": "new@example.com", "role": "admin"})
    assert made.status_code == 201 and len(mailoutbox) == 1
    assert api["admin_b"].delete(f"/api/v1/invitations/{made.json()['id']}/").status_code == 404
    assert client.delete(f"/api/v1/invitations/{made.json()['id']}/").status_code == 204
    assert client.get("/api/v1/invitations/").json()["results"] == []


def test_the_old_api_still_answers_and_says_it_is_deprecated(api_world, personas):
    response = client_for(personas["admin_a"]).get("/api/events/")
    assert response.status_code == 200 and response["Deprecation"] == "true"
    assert "/api/v1/" in response["Link"]


def test_stored_idempotent_answers_are_pruned_once_their_key_expired(api_world, api):
    import time_machine
    from django.utils import timezone

    from mlconnector.api.models import IdempotencyKey
    from mlconnector.pipeline.maintenance import prune

    url = f"/api/v1/deliveries/{api_world['a']['delivery'].pk}/replay/"
    api["admin_a"].post(url, {}, headers={"Idempotency-Key": "old"})
    with time_machine.travel(timezone.now() + timezone.timedelta(hours=25)):
        api["admin_a"].post(url, {}, headers={"Idempotency-Key": "new"})
        assert "1 idempotency keys" in prune()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
