"""A tenant's link to one provider account: encrypted credentials, config, health."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from mlconnector.audit.redaction import remember_secrets
from mlconnector.crypto import EncryptedJSONField
from mlconnector.tenants.scoping import TenantOwned


def new_endpoint_key() -> str:
    return secrets.token_urlsafe(24)


class Connection(TenantOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Setting up"
        ACTIVE = "active", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        PAUSED = "paused", "Paused"
        DISCONNECTED = "disconnected", "Disconnected"

    provider = models.CharField(max_length=32, db_index=True)
    name = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    # Secrets only: tokens, refresh tokens, API keys. Never shown, never logged.
    credentials = EncryptedJSONField(default=dict, blank=True)
    credentials_version = models.PositiveIntegerField(default=0)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    # Non-secret settings: account ids, chosen business, board ids, channel ids.
    config = models.JSONField(default=dict, blank=True)
    # The account at the provider (FreshBooks account_id, Slack team id, ...), for display and lookups.
    external_account_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    # Identifies this connection in webhook URLs: /hooks/<provider>/<endpoint_key>/.
    endpoint_key = models.CharField(max_length=64, unique=True, default=new_endpoint_key, editable=False)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # A lease serialising token refresh across workers (see connections/tokens.py).
    refresh_lease_owner = models.CharField(max_length=64, blank=True, default="", editable=False)
    refresh_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name", "provider", "name"]
        indexes = [models.Index(fields=["tenant", "provider", "status"], name="conn_tenant_provider")]

    def __str__(self) -> str:
        label = self.name or self.external_account_id or f"#{self.pk}"
        return f"{self.provider}: {label}"

    def get_provider_label(self) -> str:
        from mlconnector.contract import UnknownProvider, registry

        try:
            return registry.get(self.provider).label or self.provider
        except UnknownProvider:
            return self.provider

    def secrets(self) -> dict:
        """The decrypted credentials; remembered so no log line or audit row can repeat them."""
        creds = dict(self.credentials or {})
        remember_secrets(creds)
        return creds

    @property
    def integration(self):
        from mlconnector.contract import registry

        return registry.get(self.provider)(self)
