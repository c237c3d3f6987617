"""Settings for the naive baseline: the app's settings, routed to bench/naive_wsgi.py's one view."""

from mlconnector.settings import *  # noqa: F403 - the same settings, middleware and database as ours

ROOT_URLCONF = "bench.naive_wsgi"
