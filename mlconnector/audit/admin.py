from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from mlconnector.admin_site import AdminOnlyPayload, TenantScopedAdmin, admin_site
from mlconnector.audit.models import AuditRecord


@admin.register(AuditRecord, site=admin_site)
class AuditRecordAdmin(AdminOnlyPayload, TenantScopedAdmin):
    editable = False
    list_display = ["when", "kind", "outcome", "provider", "record", "status_code", "short_message", "replay_link"]
    list_filter = ["kind", "outcome", "provider", "event_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "created_at"
    # Messages and invoice numbers are encrypted; the audit log (/audit/) searches events by words.
    search_fields = ["object_id", "remote_id", "event_type"]
    list_select_related = ["tenant", "delivery"]
    show_full_result_count = False
    exclude = ["payload"]
    readonly_fields = [f.name for f in AuditRecord._meta.fields if f.name != "payload"]
    export_fields = [
        "created_at",
        "tenant__name",
        "kind",
        "outcome",
        "provider",
        "event_type",
        "object_id",
        "invoice_number",
        "method",
        "url",
        "status_code",
        "duration_ms",
        "remote_id",
        "message",
    ]

    @admin.display(description="When (UTC)", ordering="created_at")
    def when(self, obj):
        # Exact to the second: the operator lines this up with provider logs.
        return obj.created_at.strftime("%Y-%m-%d %H:%M:%S")

    @admin.display(description="Record")
    def record(self, obj):
        parts = [obj.event_type, f"#{obj.invoice_number}" if obj.invoice_number else obj.object_id]
        return " ".join(p for p in parts if p) or "—"

    @admin.display(description="Message")
    def short_message(self, obj):
        return (obj.message[:120] + "…") if len(obj.message) > 120 else obj.message

    @admin.display(description="Delivery")
    def replay_link(self, obj):
        if obj.delivery_id is None:
            return ""
        url = reverse("admin:pipeline_delivery_change", args=[obj.delivery_id])
        return format_html('<a href="{}">open / replay</a>', url)
