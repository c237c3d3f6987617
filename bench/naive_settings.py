"""Settings for the naive baseline: the app's settings, routed to bench/naive_wsgi.py's one view."""

from mlconnector.settings import *  # noqa: F403 - the same settings, middleware and database as ours

ROOT_URLCONF = "bench.naive_wsgi"
# Django's request logger would print the readiness probe's 405 (a GET); real failures still show.
LOGGING["loggers"]["django.request"] = {"level": "ERROR"}  # noqa: F405
