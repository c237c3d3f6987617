"""Named leases taken with one conditional UPDATE, so any number of processes agree on one holder."""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from mlconnector.pipeline.models import Lease


def acquire(name: str, owner: str, ttl_seconds: float) -> bool:
    """Take or renew the lease; True when `owner` holds it until now + ttl."""
    now = timezone.now()
    until = now + timedelta(seconds=ttl_seconds)
    taken = (
        Lease.objects.filter(name=name)
        .filter(Q(owner=owner) | Q(owner="") | Q(until__lt=now) | Q(until__isnull=True))
        .update(owner=owner, until=until)
    )
    if taken:
        return True
    if Lease.objects.filter(name=name).exists():
        return False
    try:
        Lease.objects.create(name=name, owner=owner, until=until)
    except IntegrityError:
        return False
    return True


def release(name: str, owner: str) -> None:
    Lease.objects.filter(name=name, owner=owner).update(owner="", until=None)
