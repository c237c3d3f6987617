"""FreshBooks webhook callbacks: one per registered event, each with its own signing verifier."""

from __future__ import annotations

from django.db import models

from mlconnector.crypto import EncryptedTextField
from mlconnector.tenants.scoping import TenantOwned


class FreshBooksCallback(TenantOwned):
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="fb_callbacks")
    callback_id = models.CharField(max_length=32)
    event = models.CharField(max_length=64, blank=True, default="")
    uri = models.CharField(max_length=500, blank=True, default="")
    # The signing key FreshBooks sent in the callback.verify handshake, active once FreshBooks
    # accepted it back. A verifier that arrives unconfirmed waits in pending_verifier.
    verifier = EncryptedTextField(null=True, blank=True)
    pending_verifier = EncryptedTextField(null=True, blank=True)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "FreshBooks webhook callback"
        constraints = [models.UniqueConstraint(fields=["connection", "callback_id"], name="fb_callback_once")]

    def __str__(self) -> str:
        return f"{self.event or '?'} #{self.callback_id} ({'verified' if self.verified else 'unverified'})"
