"""State of the fake providers, in the database so the web and worker processes agree.

Generic on purpose: every fake keeps its records as SandboxObject rows (kind + id + JSON), its OAuth
apps, codes and tokens as SandboxApp/SandboxToken (tokens stored as hashes), and its injected faults
as SandboxFault rows. Secrets a fake must be able to read back (a webhook signing verifier) use the
same encrypted field as ml-connector itself, so a database dump shows none of them.
"""

from __future__ import annotations

from django.db import models

from mlconnector.crypto import EncryptedTextField


class SandboxAccount(models.Model):
    provider = models.CharField(max_length=32)
    # The provider's own account id (FreshBooks account_id, Slack team id, Monday account id).
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "key"], name="sandbox_account_key")]

    def __str__(self) -> str:
        return f"{self.provider}:{self.key} {self.name}"


class SandboxApp(models.Model):
    provider = models.CharField(max_length=32)
    client_id = models.CharField(max_length=128)
    client_secret_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=200, default="ml-connector")
    redirect_uris = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "client_id"], name="sandbox_app_client")]


class SandboxToken(models.Model):
    class Kind(models.TextChoices):
        CODE = "code"
        ACCESS = "access"
        REFRESH = "refresh"

    provider = models.CharField(max_length=32)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(SandboxAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    app = models.ForeignKey(SandboxApp, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    scopes = models.CharField(max_length=1000, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)


class SandboxObject(models.Model):
    provider = models.CharField(max_length=32)
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict)
    secret = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "account", "kind", "object_id"], name="sandbox_object_id")
        ]
        indexes = [models.Index(fields=["provider", "account", "kind", "updated_at"], name="sandbox_obj_kind")]


class SandboxFault(models.Model):
    """A fault to inject on the next matching request(s) to a fake provider."""

    class Kind(models.TextChoices):
        STATUS = "status", "Answer with a status code and body"
        TIMEOUT = "timeout", "Never answer in time"
        DELAY = "delay", "Answer normally, after a delay"
        REVOKE = "revoke", "Revoke every token of the account"

    provider = models.CharField(max_length=32)
    # Substring of "METHOD /path" the fault applies to ("" matches everything of the provider).
    match = models.CharField(max_length=200, blank=True, default="")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STATUS)
    status = models.PositiveSmallIntegerField(default=500)
    body = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    delay_seconds = models.FloatField(default=0)
    remaining = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)


class SandboxCounter(models.Model):
    """Rate-limit emulation state (fixed windows and per-key minimum intervals)."""

    key = models.CharField(max_length=200, primary_key=True)
    value = models.FloatField(default=0)
    window_start = models.FloatField(default=0)
