"""ASGI entry point (the WSGI one, with its webhook fast path, is what gunicorn serves)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlconnector.settings")
application = get_asgi_application()
