"""The sink's fake server: records each effect once per Idempotency-Key (like GoCardless does)."""

from __future__ import annotations

import json
import uuid

from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from integrations.sandbox import faults
from integrations.sandbox.http import bearer_token, json_response
from integrations.sandbox.models import SandboxAccount, SandboxObject

PROVIDER = "testsink"
API_KEY = "sink-api-key-123456"


def account() -> SandboxAccount:
    acct, _ = SandboxAccount.objects.get_or_create(provider=PROVIDER, key="sink", defaults={"name": "Sink"})
    return acct


@csrf_exempt
def ping(request):
    if bearer_token(request) != API_KEY:
        return json_response({"error": "unauthorized"}, 401)
    return json_response({"ok": True})


@csrf_exempt
def effects(request):
    acct = account()
    injected = faults.inject(PROVIDER, request, acct)
    if injected is not None:
        return injected
    if bearer_token(request) != API_KEY:
        return json_response({"error": "unauthorized"}, 401)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return json_response({"error": "Idempotency-Key required"}, 400)
    existing = SandboxObject.objects.filter(provider=PROVIDER, account=acct, kind="effect", object_id=key).first()
    if existing is not None:
        return json_response({"id": existing.pk, "replayed": True}, 200)
    obj = SandboxObject.objects.create(
        provider=PROVIDER, account=acct, kind="effect", object_id=key, data=json.loads(request.body or b"{}")
    )
    # Faults queued for "testsink-after" apply once the effect exists: a slow or lost response
    # after a successful write, the window in which a dying worker could cause a double write.
    after = faults.inject(PROVIDER + "-after", request, acct)
    if after is not None:
        return after
    return json_response({"id": obj.pk}, 201)


@csrf_exempt
def effects_batch(request):
    """POST {"inputs": [{"key", "object_id", ...}]} -> 207 {"results": [{"status", "id"|"message"}]}:
    each item on its own, like HubSpot's batch endpoints. An object id ending in "-reject" is
    refused (422); one ending in "-flaky" fails once (503), then succeeds."""
    acct = account()
    injected = faults.inject(PROVIDER, request, acct)
    if injected is not None:
        return injected
    if bearer_token(request) != API_KEY:
        return json_response({"error": "unauthorized"}, 401)
    results = []
    for item in json.loads(request.body or b"{}").get("inputs", []):
        key, object_id = item.get("key", ""), str(item.get("object_id", ""))
        existing = SandboxObject.objects.filter(provider=PROVIDER, account=acct, kind="effect", object_id=key).first()
        if existing is not None:
            results.append({"status": 200, "id": existing.pk})
        elif object_id.endswith("-reject"):
            results.append({"status": 422, "message": f"object {object_id} is not acceptable"})
        elif (
            object_id.endswith("-flaky")
            and not SandboxObject.objects.filter(
                provider=PROVIDER, account=acct, kind="flaked", object_id=object_id
            ).exists()
        ):
            SandboxObject.objects.create(provider=PROVIDER, account=acct, kind="flaked", object_id=object_id, data={})
            results.append({"status": 503, "message": "busy, try again"})
        else:
            obj = SandboxObject.objects.create(provider=PROVIDER, account=acct, kind="effect", object_id=key, data=item)
            results.append({"status": 201, "id": obj.pk})
    SandboxObject.objects.create(
        provider=PROVIDER, account=acct, kind="batch-call", object_id=uuid.uuid4().hex, data={"n": len(results)}
    )
    return json_response({"results": results}, 207)


def batch_calls() -> list[int]:
    """The size of each batch call the sink received, in order."""
    return [o.data["n"] for o in SandboxObject.objects.filter(provider=PROVIDER, kind="batch-call").order_by("pk")]


def effect_count() -> int:
    return SandboxObject.objects.filter(provider=PROVIDER, kind="effect").count()


urlpatterns = [path("ping", ping), path("effects", effects), path("effects/batch", effects_batch)]
