"""Board maps: where each FreshBooks record type goes on a tenant's Monday account, column by column."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mlconnector.tenants.scoping import TenantOwned

ACTION_WORDS = {"create": "created", "update": "updated", "delete": "deleted"}
RECORD_TYPE_CHOICES = [("invoice", "Invoices"), ("payment", "Payments"), ("bill", "Bills"), ("expense", "Expenses")]


class BoardMap(TenantOwned):
    """One record type of one Monday connection -> a board and group, with its column maps."""

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="board_maps")
    record_type = models.CharField(max_length=16, choices=RECORD_TYPE_CHOICES)
    board_id = models.CharField(max_length=32)
    board_name = models.CharField(max_length=255, blank=True, default="")
    group_id = models.CharField(max_length=64, blank=True, default="")
    group_title = models.CharField(max_length=255, blank=True, default="")
    # FreshBooks status -> label of the mapped status column, e.g. {"paid": "Done"}.
    status_labels = models.JSONField(default=dict, blank=True)
    # Set when the board no longer matches (a column deleted or retyped): deliveries fail until fixed.
    problem = models.TextField(blank=True, default="")
    problem_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "record_type"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "record_type"], name="one_board_map_per_record_type")
        ]

    def __str__(self) -> str:
        return f"{self.get_record_type_display()} → {self.board_name or self.board_id}"

    def column_for(self, field: str) -> ColumnMap | None:
        return next((c for c in self.columns.all() if c.field == field), None)


class ColumnMap(TenantOwned):
    """One FreshBooks field -> one column of the board (by id; title and type as they were when saved)."""

    board_map = models.ForeignKey(BoardMap, on_delete=models.CASCADE, related_name="columns")
    field = models.CharField(max_length=32)
    column_id = models.CharField(max_length=64)
    column_title = models.CharField(max_length=255, blank=True, default="")
    column_type = models.CharField(max_length=32)

    class Meta:
        ordering = ["board_map", "id"]
        constraints = [
            models.UniqueConstraint(fields=["board_map", "field"], name="one_column_per_field"),
            models.UniqueConstraint(fields=["board_map", "column_id"], name="one_field_per_column"),
        ]

    def __str__(self) -> str:
        return f"{self.field} → {self.column_title or self.column_id} ({self.column_type})"


class ItemDrift(TenantOwned):
    """A person changed a status on Monday, and a FreshBooks change was about to overwrite it.

    FreshBooks' statuses are read-only there and Monday's are a column anyone can set, so before an
    update overwrites a status column ml-connector reads what Monday shows; when it is not what
    ml-connector last wrote, this row (and an audit row) keeps what the person had set.
    """

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="monday_drifts")
    board_id = models.CharField(max_length=32)
    board_name = models.CharField(max_length=255, blank=True, default="")
    item_id = models.CharField(max_length=32)
    item_name = models.CharField(max_length=255, blank=True, default="")
    record_type = models.CharField(max_length=16)
    source_id = models.CharField(max_length=64)
    column_id = models.CharField(max_length=64)
    column_title = models.CharField(max_length=255, blank=True, default="")
    # Labels as Monday shows them ("" = no label).
    monday_value = models.CharField("Monday showed", max_length=255, blank=True, default="")
    last_written = models.CharField("ml-connector last wrote", max_length=255, blank=True, default="")
    new_value = models.CharField("now from FreshBooks", max_length=255, blank=True, default="")
    event = models.ForeignKey(
        "webhooks.InboundEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery = models.ForeignKey(
        "pipeline.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detected_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [
            models.Index(fields=["connection", "item_id"], name="monday_drift_item"),
            models.Index(fields=["tenant", "-detected_at"], name="monday_drift_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.item_name or self.item_id}: {self.column_title} {self.monday_value!r} → {self.new_value!r}"

    @property
    def event_label(self) -> str:
        """'Payment recorded', 'Invoice updated': the FreshBooks event that made the overwrite."""
        if self.event is None:
            return ""
        kind, _, action = self.event.event_type.partition(".")
        if (kind, action) == ("payment", "create"):
            return "Payment recorded"
        return f"{kind.capitalize()} {ACTION_WORDS.get(action, action)}"

    def sentence(self) -> str:
        """'Monday showed “Stuck”, set by a person; now “Paid” from FreshBooks (ml-connector last wrote “Sent”).'"""
        showed = f"Monday showed “{self.monday_value}”" if self.monday_value else "Monday showed no label"
        now = f"now “{self.new_value}” from FreshBooks" if self.new_value else "now cleared, as in FreshBooks"
        wrote = f"“{self.last_written}”" if self.last_written else "no label"
        return f"{showed}, set by a person; {now} (ml-connector last wrote {wrote})."
