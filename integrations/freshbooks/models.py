"""FreshBooks webhook callbacks: one per registered event, each with its own signing verifier,
and the verifier candidates that wait to be offered back to FreshBooks."""

from __future__ import annotations

from datetime import UTC

from django.db import models
from django.utils import timezone

from mlconnector.crypto import EncryptedTextField
from mlconnector.tenants.scoping import TenantOwned


class FreshBooksCallback(TenantOwned):
    """A callback ml-connector registered (created by ensure_callbacks from FreshBooks' create or
    list responses, never by an incoming handshake)."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="fb_callbacks")
    callback_id = models.CharField(max_length=32)
    event = models.CharField(max_length=64, blank=True, default="")
    uri = models.CharField(max_length=500, blank=True, default="")
    # The signing key FreshBooks sent in the callback.verify handshake, set only once FreshBooks
    # accepted it back. Codes that arrive unconfirmed wait as FreshBooksVerifierCandidate rows.
    verifier = EncryptedTextField(null=True, blank=True)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    # While unverified: how often we asked FreshBooks to send the code again, and when next.
    resend_count = models.PositiveIntegerField(default=0)
    last_resend_at = models.DateTimeField(null=True, blank=True)
    next_resend_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "FreshBooks webhook callback"
        constraints = [models.UniqueConstraint(fields=["connection", "callback_id"], name="fb_callback_once")]

    def __str__(self) -> str:
        return f"{self.event or '?'} #{self.callback_id} ({'verified' if self.verified else 'unverified'})"

    @property
    def status_text(self) -> str:
        """For the connection page, in words that stay true until the row changes."""
        if self.verified:
            return "verified"
        text = "waiting for FreshBooks to confirm"
        if self.connection.status != "active":
            # resend_due runs only for active connections.
            return f"{text} — no new code is asked for while the connection is not active"
        if self.resend_count == 0:
            asked, which = "not yet asked FreshBooks to resend the code", "first request"
        else:
            times = "once" if self.resend_count == 1 else f"{self.resend_count} times"
            asked, which = f"asked FreshBooks to resend the code {times}", "next"
        due = self.next_resend_at
        if due is None or due <= timezone.now():
            # Overdue: the connection's "handshakes" job has not run since; it asks when it does.
            job = self.connection.jobs.filter(name="handshakes").first()
            every = f"every {job.every_seconds // 60} min" if job else "periodically"
            return f"{text} — {asked}, {which} due now (checked {every})"
        # "due at", not "at": the request goes out with the first check after that moment.
        return f"{text} — {asked}, {which} due at {due.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class FreshBooksVerifierCandidate(TenantOwned):
    """A code received in a callback.verify POST, not yet offered back to FreshBooks.

    Anyone can POST a handshake, so competing codes for one callback are all kept (up to SLOTS)
    and each is tried; only the one FreshBooks accepts becomes the callback's verifier. Keyed by
    the callback id rather than a foreign key: a code that arrives while ml-connector is still
    registering the callback waits here until the callback row exists (callbacks.py).
    """

    SLOTS = 5

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    callback_id = models.CharField(max_length=32)
    # 0..SLOTS-1, unique per callback: the bound holds even when handshakes arrive at once.
    slot = models.PositiveSmallIntegerField()
    verifier = EncryptedTextField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "FreshBooks verifier candidate"
        constraints = [
            models.UniqueConstraint(fields=["connection", "callback_id", "slot"], name="fb_candidate_slot_once")
        ]

    def __str__(self) -> str:
        return f"code for callback #{self.callback_id} (slot {self.slot})"
