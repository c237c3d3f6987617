from django.contrib import admin

from integrations.freshbooks.models import FreshBooksCallback
from mlconnector.admin_site import TenantScopedAdmin, admin_site


@admin.register(FreshBooksCallback, site=admin_site)
class FreshBooksCallbackAdmin(TenantScopedAdmin):
    editable = False
    list_display = ["callback_id", "event", "verified", "verified_at", "connection", "tenant"]
    list_filter = ["verified", "event", ("tenant", admin.RelatedOnlyFieldListFilter)]
    fields = [
        "connection",
        "callback_id",
        "event",
        "uri",
        "verified",
        "verified_at",
        "resend_count",
        "last_resend_at",
        "next_resend_at",
        "created_at",
    ]
    readonly_fields = fields
