"""Who is doing the work: the identity a claim writes as its lease owner, and how long a lease lasts.

A worker supervisor (`manage.py worker`, pipeline/supervisor.py) names its node in MLCONNECTOR_NODE
for the django-q2 cluster it runs, and renews the leases of that cluster's live worker processes
every few seconds; so under a supervisor a lease can be short, and work held by a worker that died
is picked up again within seconds. A bare `qcluster` has nobody renewing its leases: they must then
outlive django-q2's task timeout, as before.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings

NODE_ENV = "MLCONNECTOR_NODE"


def name() -> str:
    """This process's node: the supervisor's name for it, or the host."""
    return os.environ.get(NODE_ENV) or socket.gethostname()


def supervised() -> bool:
    return bool(os.environ.get(NODE_ENV))


def owner(pid: int | None = None) -> str:
    """The lease owner a claim writes: node and worker process, so a supervisor can tell exactly
    which rows a dead process held."""
    return f"{name()}:{pid or os.getpid()}"


def lease() -> timedelta:
    seconds = settings.MLCONNECTOR_SUPERVISED_LEASE_SECONDS if supervised() else settings.MLCONNECTOR_LEASE_SECONDS
    return timedelta(seconds=seconds)
