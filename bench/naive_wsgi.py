"""The naive baseline for bench/ingest.py: a plain Django view (full middleware) that inserts and enqueues.

It is what a first cut of a webhook receiver looks like: resolve the URL through Django, look the
connection up (and decrypt its verifiers) on every request, verify, `InboundEvent.objects.create`,
then `async_task`. Served with DJANGO_SETTINGS_MODULE=bench.naive_settings; never part of the app.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.naive_settings")
application = get_wsgi_application()

# Django is set up from here on.
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django_q.tasks import async_task  # noqa: E402

from mlconnector.connections.models import Connection  # noqa: E402
from mlconnector.contract import BadSignature, Endpoint, MalformedWebhook, WebhookRequest, registry  # noqa: E402
from mlconnector.webhooks.models import InboundEvent  # noqa: E402


@csrf_exempt
def naive_webhook(request: HttpRequest, provider: str, endpoint_key: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(b"POST only", status=405)
    conn = Connection.objects.filter(provider=provider, endpoint_key=endpoint_key, status="active").first()
    if conn is None:
        return HttpResponse(b"unknown endpoint", status=404)
    integration = registry.get(provider)
    endpoint = Endpoint(conn.pk, conn.tenant_id, provider, conn.status, integration.endpoint_secrets(conn))
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        events = integration.verify_webhook(endpoint, WebhookRequest(request.body, headers, request.content_type))
    except (BadSignature, MalformedWebhook):
        return HttpResponse(b"invalid signature", status=401)
    now = timezone.now()
    for event in events:
        row = InboundEvent.objects.create(
            tenant_id=conn.tenant_id,
            connection=conn,
            provider=provider,
            event_type=event.event_type,
            object_id=event.object_id,
            account_id=event.account_id,
            dedupe_key=event.dedupe_key,
            raw_body=request.body,
            headers={"content-type": request.content_type},
            next_attempt_at=now,
            received_at=now,
        )
        async_task("mlconnector.webhooks.processing.process_inbound", row.pk)
    return HttpResponse(b"ok")


urlpatterns = [path("hooks/<str:provider>/<str:endpoint_key>/", naive_webhook)]
