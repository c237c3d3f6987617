"""Board maps in the admin: read-only, because a map is only valid against the board's live columns,
which the editor (/monday/<connection>/maps/) checks; the admin links there."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from integrations.monday.models import BoardMap, ColumnMap
from mlconnector.admin_site import ReadOnlyInline, TenantScopedAdmin, admin_site


class ColumnMapInline(ReadOnlyInline):
    model = ColumnMap
    fields = ["field", "column_title", "column_id", "column_type"]
    readonly_fields = fields


@admin.register(BoardMap, site=admin_site)
class BoardMapAdmin(TenantScopedAdmin):
    editable = False
    list_display = ["record_type", "board_name", "group_title", "problem", "connection", "tenant", "updated_at"]
    list_filter = ["record_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["board_name", "board_id", "problem"]
    fields = [
        "tenant",
        "connection",
        "record_type",
        "board_name",
        "board_id",
        "group_title",
        "status_labels",
        "problem",
        "problem_at",
        "updated_by",
        "updated_at",
        "editor",
    ]
    readonly_fields = fields
    inlines = [ColumnMapInline]

    @admin.display(description="Edit")
    def editor(self, obj):
        url = reverse("monday-map-edit", args=[obj.connection_id, obj.record_type])
        return format_html('<a href="{}">Open the board map editor</a>', url)
