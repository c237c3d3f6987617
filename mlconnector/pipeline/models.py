"""Deliveries (one per event per target connection), the links that make writes idempotent, and
the small shared-state tables the workers coordinate through."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mlconnector.crypto import EncryptedCharField, EncryptedJSONField
from mlconnector.tenants.scoping import TenantOwned


class Delivery(TenantOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"
        # For a reconnect, a resume, or something the target watches (a Slack channel): see last_error.
        WAITING = "waiting", "Waiting"
        SUCCEEDED = "succeeded", "Delivered"
        # Nothing was addressed to this target (no routing rule matched, no board chosen).
        SKIPPED = "skipped", "Nothing to send"
        FAILED = "failed", "Failed"

    event = models.ForeignKey("webhooks.InboundEvent", on_delete=models.CASCADE, related_name="deliveries")
    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="deliveries")
    provider = models.CharField(max_length=32)
    event_type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    worker_deaths = models.PositiveIntegerField(default=0)
    replays = models.PositiveIntegerField(default=0)
    # Set by a replay that explicitly asked to send again what already succeeded.
    resend = models.BooleanField(default=False)
    next_attempt_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # "<node>:<pid>" of the worker process running it (see pipeline/node.py).
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    last_error = EncryptedCharField(null=True, blank=True, default="")  # a provider's words may quote the record
    remote_id = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "connection"], name="one_delivery_per_target")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["tenant", "status", "-created_at"], name="delivery_tenant_status"),
            models.Index(fields=["connection", "status"], name="delivery_connection_status"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.provider} ({self.status})"


class RecordLink(TenantOwned):
    """Source record -> remote record, per target connection: makes every write an upsert."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="links")
    source_type = models.CharField(max_length=32)
    source_id = models.CharField(max_length=128)
    remote_type = models.CharField(max_length=32)
    remote_id = models.CharField(max_length=128)
    # What the target keeps about the remote record (e.g. the values last written to a Monday item):
    # customer data, so encrypted.
    data = EncryptedJSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "source_type", "source_id", "remote_type"], name="one_link_per_remote_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_type}:{self.source_id} → {self.remote_type}:{self.remote_id}"


class SourceRecord(TenantOwned):
    """The last version of each source record we fanned out: unchanged or older versions are no-ops."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64)
    # The provider's own modification time, as a sortable string ("" when it has none).
    updated = models.CharField(max_length=40, blank=True, default="")
    seen_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "record_type", "object_id"], name="one_source_record")
        ]


class ConnectionJob(TenantOwned):
    """A periodic job of one connection (a polling backstop, a daily payout check), run every
    `every_seconds`, which the connection holds (its integration's Job gives the default)."""

    class Status(models.TextChoices):
        IDLE = "idle", "Scheduled"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="jobs")
    name = models.CharField(max_length=32)
    every_seconds = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE)
    attempts = models.PositiveIntegerField(default=0)
    worker_deaths = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_ok = models.BooleanField(null=True, blank=True)
    last_message = models.TextField(blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    failures_in_a_row = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection_id", "name"]
        constraints = [models.UniqueConstraint(fields=["connection", "name"], name="one_job_per_connection")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="job_due")]

    def __str__(self) -> str:
        return f"{self.name} of {self.connection_id} every {self.every_seconds}s"


class Backfill(TenantOwned):
    """Copying what a source already holds into one target (pipeline/backfill.py), page by page."""

    class Status(models.TextChoices):
        PENDING = "pending", "Reading"
        RUNNING = "running", "Reading"
        RETRYING = "retrying", "Retrying"
        LISTED = "listed", "Everything read"
        FAILED = "failed", "Stopped"
        CANCELLED = "cancelled", "Cancelled"

    source = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="backfills")
    record_types = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Where the reading got to: the record type (index into record_types) and its next page.
    type_index = models.PositiveIntegerField(default=0)
    page = models.PositiveIntegerField(default=1)
    # Counts kept with the cursor (in the step's transaction), so they are exact after a crash.
    totals = models.JSONField(default=dict, blank=True)  # record type -> how many the source holds
    listed = models.PositiveIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    worker_deaths = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(null=True, blank=True)
    finished_listing_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="backfill_due")]

    def __str__(self) -> str:
        return f"backfill {self.source_id} -> {self.target_id} ({self.status})"


class TargetVersion(models.Model):
    """The version of each source record a target last received, so a backfill skips what is there."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    record_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    version = models.CharField(max_length=64)
    delivered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "record_type", "object_id"], name="one_target_version")
        ]


class PollCursor(models.Model):
    """Where the polling backstop of one connection and resource got to."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="+")
    resource = models.CharField(max_length=32)
    since = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "resource"], name="one_cursor_per_resource")]


class Lease(models.Model):
    """A named lease (e.g. the one running dispatcher) taken by conditional UPDATE."""

    name = models.CharField(max_length=64, primary_key=True)
    owner = models.CharField(max_length=64, blank=True, default="")
    until = models.DateTimeField(null=True, blank=True)


class Throttle(models.Model):
    """Rate-limit state when Redis is not configured (see mlconnector/ratelimit.py)."""

    key = models.CharField(max_length=200, primary_key=True)
    blocked_until = models.FloatField(default=0)
    next_slot = models.FloatField(default=0)


class WorkerNode(models.Model):
    """One `manage.py worker` supervisor and the qcluster it runs: its heartbeat and what it sees,
    for the health check and for the operator (see pipeline/supervisor.py)."""

    class State(models.TextChoices):
        STARTING = "starting", "Starting"
        RUNNING = "running", "Running"
        RESTARTING = "restarting", "Restarting its cluster"
        STOPPING = "stopping", "Stopping"
        STOPPED = "stopped", "Stopped"

    name = models.CharField(max_length=100, primary_key=True)
    hostname = models.CharField(max_length=100)
    pid = models.PositiveIntegerField()
    workers = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.STARTING)
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    cluster_pid = models.PositiveIntegerField(null=True, blank=True)
    cluster_started_at = models.DateTimeField(null=True, blank=True)
    # Work the node's processes hold right now, and the last time that changed (task progress).
    running = models.PositiveIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True)
    # Since when its workers have taken no work while work waited for them (None: they are not).
    stalled_since = models.DateTimeField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0)
    last_restart_at = models.DateTimeField(null=True, blank=True)
    last_restart_reason = models.TextField(blank=True, default="")
    dispatching = models.BooleanField(default=False)
    # What is wrong right now, in words ("" when nothing is): shown by the health check.
    problem = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-heartbeat_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"
