"""Issuing, finding and revoking personal API tokens.

A token reads `mlc_<prefix>_<secret>`: the prefix is stored as is (it finds the row and is shown on
the tokens page), the whole token only as a SHA-256 digest. 32 random bytes make a guess hopeless,
so a plain digest (no slow hash) is the right tool, and it keeps each API call cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from mlconnector.api.models import ApiToken

PREFIX = "mlc"
# last_used_at is written at most this often per token: not one UPDATE per API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(*, user, tenant, name: str, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the token itself, which is never available again."""
    prefix = secrets.token_hex(4)
    while ApiToken.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    token = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(
        user=user, tenant=tenant, name=name, prefix=prefix, secret_hash=_digest(token), expires_at=expires_at
    )
    return row, token


def resolve(token: str) -> ApiToken | None:
    """The usable token behind a presented secret, or None (unknown, revoked, expired, malformed)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    row = ApiToken.objects.select_related("user", "tenant").filter(prefix=parts[1]).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(token)) or not row.is_usable:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


def revoke(row: ApiToken) -> bool:
    return bool(ApiToken.objects.filter(pk=row.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
