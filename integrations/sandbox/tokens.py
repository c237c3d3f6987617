"""Issuing and checking the fakes' OAuth codes and tokens (stored as SHA-256 hashes only)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from integrations.sandbox.models import SandboxApp, SandboxToken


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def hash_secret(raw: str) -> str:
    return _hash(raw)


def issue(
    provider: str,
    kind: str,
    *,
    account=None,
    app=None,
    ttl: int | None = None,
    scopes: str = "",
    prefix: str = "",
    data: dict | None = None,
) -> str:
    raw = prefix + secrets.token_urlsafe(32)
    SandboxToken.objects.create(
        provider=provider,
        kind=kind,
        token_hash=_hash(raw),
        account=account,
        app=app,
        scopes=scopes,
        data=data or {},
        expires_at=timezone.now() + timedelta(seconds=ttl) if ttl else None,
    )
    return raw


def find(provider: str, kind: str, raw: str | None) -> SandboxToken | None:
    """A live token: not expired, revoked, or (for single-use kinds) used."""
    if not raw:
        return None
    token = (
        SandboxToken.objects.filter(provider=provider, kind=kind, token_hash=_hash(raw))
        .select_related("account", "app")
        .first()
    )
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return None
    return token


def use_once(provider: str, kind: str, raw: str | None) -> SandboxToken | None:
    """Consume a single-use token (authorization code, refresh token) atomically; None if spent."""
    token = find(provider, kind, raw)
    if token is None or token.used_at is not None:
        return None
    if not SandboxToken.objects.filter(pk=token.pk, used_at__isnull=True).update(used_at=timezone.now()):
        return None
    return token


def revoke_account(provider: str, account) -> int:
    return SandboxToken.objects.filter(provider=provider, account=account, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def app_for(provider: str, client_id: str | None) -> SandboxApp | None:
    """The app a client_id names (the authorize page needs no secret)."""
    if not client_id:
        return None
    return SandboxApp.objects.filter(provider=provider, client_id=client_id).first()


def authenticate_app(provider: str, client_id: str | None, client_secret: str | None) -> SandboxApp | None:
    """The app, only if the secret matches: token endpoints always authenticate the client."""
    app = app_for(provider, client_id)
    if app is None or not client_secret:
        return None
    if not secrets.compare_digest(app.client_secret_hash, _hash(client_secret)):
        return None
    return app


def ensure_app(provider: str, client_id: str, client_secret: str, name: str = "ml-connector") -> SandboxApp:
    app, _ = SandboxApp.objects.update_or_create(
        provider=provider,
        client_id=client_id,
        defaults={"client_secret_hash": _hash(client_secret), "name": name},
    )
    return app
