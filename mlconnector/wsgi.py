"""WSGI entry point, with a lean path for webhooks.

POST /hooks/<provider>/<key>/ skips Django's middleware and URL resolver and goes straight to the
shared receiver: webhooks need no session, CSRF, auth or message framework, and the ack path is
what providers time. Everything else is the normal Django application.
"""

import os
import re

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlconnector.settings")

django_application = get_wsgi_application()

from mlconnector.webhooks.fastpath import make_hooks_app  # noqa: E402 - needs Django set up

_HOOK_PATH = re.compile(r"^/hooks/([a-z0-9_]+)/([A-Za-z0-9_-]+)/?$")
hooks_application = make_hooks_app()


def application(environ, start_response):
    match = _HOOK_PATH.match(environ.get("PATH_INFO", ""))
    if match is not None:
        return hooks_application(environ, start_response, match.group(1), match.group(2))
    return django_application(environ, start_response)
