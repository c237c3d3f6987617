from django.contrib import admin

from mlconnector.admin_site import AdminOnlyPayload, ReadOnlyInline, TenantScopedAdmin, admin_site, is_tenant_admin
from mlconnector.audit.models import AuditRecord
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_events
from mlconnector.webhooks.models import InboundEvent


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ["provider", "status", "attempts", "remote_id", "last_error", "succeeded_at"]
    readonly_fields = fields
    show_change_link = True


class TimelineInline(ReadOnlyInline):
    """The event's story, oldest first: received, enriched, every call and delivery attempt."""

    model = AuditRecord
    fk_name = "event"
    ordering = ["created_at", "id"]
    verbose_name = "timeline entry"
    verbose_name_plural = "timeline"
    fields = [
        "created_at",
        "kind",
        "outcome",
        "provider",
        "method",
        "url",
        "status_code",
        "duration_ms",
        "remote_id",
        "message",
    ]
    readonly_fields = fields
    show_change_link = True


@admin.register(InboundEvent, site=admin_site)
class InboundEventAdmin(AdminOnlyPayload, TenantScopedAdmin):
    editable = False
    list_display = [
        "id",
        "event_type",
        "object_id",
        "invoice_number",
        "counterparty",
        "amount",
        "currency",
        "status",
        "source",
        "received_at",
        "tenant",
    ]
    list_filter = ["status", "provider", "event_type", "source", ("tenant", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "received_at"
    # Invoice numbers and client names are encrypted: found through the blind index (search.py).
    search_fields = ["object_id"]
    search_help_text = "Invoice number, client name (whole words or their start) or FreshBooks object id"
    list_select_related = ["tenant"]
    exclude = ["raw_body", "payload"]
    readonly_fields = [f.name for f in InboundEvent._meta.fields if f.name not in ("raw_body", "payload")]
    inlines = [DeliveryInline, TimelineInline]
    export_fields = [
        "id",
        "tenant__name",
        "provider",
        "event_type",
        "object_id",
        "invoice_number",
        "counterparty",
        "amount",
        "currency",
        "status",
        "received_at",
    ]
    actions = [*TenantScopedAdmin.actions, "reprocess"]

    def get_search_results(self, request, queryset, search_term):
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term.strip():
            return found, duplicates
        from mlconnector.search import matching_any_tenant

        return found | matching_any_tenant(queryset, search_term), True

    @admin.action(description="Re-process selected failed or waiting events")
    def reprocess(self, request, queryset):
        from mlconnector.admin_site import admin_tenants

        result = replay_events(queryset.filter(tenant__in=admin_tenants(request.user)), actor=request.user)
        self.message_user(request, result.summary())

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not is_tenant_admin(request.user):
            actions.pop("reprocess", None)
        return actions
