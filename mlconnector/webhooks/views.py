"""The Django view for /hooks/<provider>/<key>/ (the WSGI fast path in mlconnector/wsgi.py shares receive())."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from mlconnector.webhooks.receiver import Reply, max_bytes, receive, too_large


@csrf_exempt
def webhook(request, provider: str, endpoint_key: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = -1
    if length < 0:
        reply = Reply(400, b"bad content-length")
    elif length > max_bytes(provider):
        reply = too_large(provider, length, headers)
    else:
        reply = receive(provider, endpoint_key, request.body, headers, request.content_type or "")
    return HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
