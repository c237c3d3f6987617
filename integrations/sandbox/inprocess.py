"""An in-process transport for requests: calls to the public URL are served by this Django app
directly, without a socket. Used by the test suite (MLCONNECTOR_SANDBOX_INPROCESS=True) so the real
clients talk to the real fakes (and the fakes to the real receiver) through the full WSGI stack.
"""

from __future__ import annotations

import io
from urllib.parse import unquote, urlsplit

import requests
from django.conf import settings
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from integrations.sandbox.faults import SIMULATED_TIMEOUT_HEADER


class InProcessAdapter(BaseAdapter):
    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        from django.test.client import ClientHandler

        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        environ = {
            "REQUEST_METHOD": request.method,
            "PATH_INFO": unquote(parts.path) or "/",
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "testserver",
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "SCRIPT_NAME": "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multiprocess": True,
            "wsgi.multithread": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
            "sandbox.inprocess": True,
        }
        for name, value in request.headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ[f"HTTP_{key}"] = value
        django_response = ClientHandler(enforce_csrf_checks=True)(environ)
        if django_response.get(SIMULATED_TIMEOUT_HEADER):
            raise requests.ReadTimeout(f"sandbox simulated a timeout for {request.method} {parts.path}")
        response = requests.Response()
        response.status_code = django_response.status_code
        response.reason = django_response.reason_phrase
        response.headers = CaseInsensitiveDict(dict(django_response.items()))
        response._content = (
            b"".join(django_response.streaming_content) if django_response.streaming else django_response.content
        )
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        response.connection = self
        return response

    def close(self):
        pass


def mount_inprocess(session: requests.Session) -> None:
    adapter = InProcessAdapter()
    for prefix in {settings.MLCONNECTOR_PUBLIC_URL, settings.MLCONNECTOR_SANDBOX_URL}:
        session.mount(prefix.rstrip("/") + "/", adapter)


def session() -> requests.Session:
    """A plain requests session for the fakes' own outbound calls (webhooks to ml-connector)."""
    s = requests.Session()
    s.headers["User-Agent"] = "ml-connector-sandbox/1.0"
    if getattr(settings, "MLCONNECTOR_SANDBOX_INPROCESS", False):
        mount_inprocess(s)
    return s
