"""Point an unchanged Salesforce client (simple-salesforce) at the fake: requests to
`https://<host>.salesforce.com/<path>` are sent to `<sandbox>/salesforce/<host>/<path>`, as DNS
would send them to the org. Mount it on the requests session the client is given."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import BaseAdapter, HTTPAdapter


class HostRouting(BaseAdapter):
    def __init__(self, session: requests.Session):
        super().__init__()
        self._session = session

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        target = f"{settings.MLCONNECTOR_SANDBOX_URL}/salesforce/{parts.hostname}{parts.path}"
        if parts.query:
            target += f"?{parts.query}"
        original = request.url
        request.url = target
        response = self._session.get_adapter(target).send(request, **kwargs)
        request.url = response.url = original
        return response

    def close(self):
        pass


def routed_session() -> requests.Session:
    session = requests.Session()
    if getattr(settings, "MLCONNECTOR_SANDBOX_INPROCESS", False):
        from integrations.sandbox.inprocess import mount_inprocess

        mount_inprocess(session)
    else:
        session.mount("http://", HTTPAdapter())
    session.mount("https://", HostRouting(session))
    return session
