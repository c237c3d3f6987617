from django.contrib import admin

from integrations.slack.models import RoutingRule, SlackPost
from mlconnector.admin_site import TenantScopedAdmin, admin_site


@admin.register(RoutingRule, site=admin_site)
class RoutingRuleAdmin(TenantScopedAdmin):
    list_display = ["name", "position", "enabled", "channel_name", "comparison", "threshold", "currency", "tenant"]
    list_filter = ["enabled", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "channel_name", "counterparty"]
    ordering = ["tenant", "position"]


@admin.register(SlackPost, site=admin_site)
class SlackPostAdmin(TenantScopedAdmin):
    editable = False
    list_display = ["created_at", "event_type", "invoice_number", "channel_name", "rule_name", "status", "ts"]
    list_filter = ["status", "event_type", ("tenant", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["channel_name", "ts", "event__object_id"]  # number and client are encrypted
    fields = [
        "tenant",
        "connection",
        "delivery",
        "event",
        "rule",
        "rule_name",
        "event_type",
        "channel_id",
        "channel_name",
        "status",
        "ts",
        "last_error",
        "posted_at",
        "created_at",
    ]
    readonly_fields = fields
