"""The tenant-scoped Django admin: the power-user surface for connections, events, deliveries, audit.

Tenant members (admins and viewers) sign in here without being Django staff. Every ModelAdmin goes
through TenantScopedAdmin: querysets come from the tenant scope (so lists, change pages, search,
actions, exports and autocomplete all see only the user's tenants), viewers can look but not change,
and foreign-key choices are limited to what the user may edit.
"""

from __future__ import annotations

import csv
import json

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpResponse
from django.utils.html import format_html

from mlconnector.tenants.models import Membership, Tenant


class MemberAuthenticationForm(AdminAuthenticationForm):
    def confirm_login_allowed(self, user):
        if not user.is_active:
            super().confirm_login_allowed(user)


class MLConnectorAdminSite(admin.AdminSite):
    site_header = "ml-connector"
    site_title = "ml-connector admin"
    index_title = "Connections, events, deliveries and the audit trail"
    login_form = MemberAuthenticationForm

    def has_permission(self, request):
        user = request.user
        return (
            user.is_active
            and user.is_authenticated
            and (user.is_superuser or Membership.objects.filter(user=user).exists())
        )


admin_site = MLConnectorAdminSite(name="admin")


def admin_tenants(user):
    if user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(memberships__user=user, memberships__role=Membership.Role.ADMIN).distinct()


def is_tenant_admin(user, tenant_id=None) -> bool:
    if user.is_superuser:
        return True
    qs = Membership.objects.filter(user=user, role=Membership.Role.ADMIN)
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    return qs.exists()


@admin.action(description="Export selected rows as CSV")
def export_csv(modeladmin, request, queryset):
    fields = [f for f in modeladmin.export_fields]
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{queryset.model._meta.model_name}.csv"'
    writer = csv.writer(response)
    writer.writerow(fields)
    for row in queryset.values_list(*fields):
        writer.writerow(row)
    return response


class TenantScopedAdmin(admin.ModelAdmin):
    """Base for every tenant-owned model's admin."""

    # Read-only models (events, deliveries, audit) set this to False: the pipeline writes them.
    editable = True
    export_fields: list[str] = []
    actions = [export_csv]

    def get_queryset(self, request):
        return self.model.objects.for_user(request.user)

    def has_module_permission(self, request):
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request):
        return self.editable and is_tenant_admin(request.user)

    def has_change_permission(self, request, obj=None):
        if not self.editable:
            return False
        return is_tenant_admin(request.user, obj.tenant_id if obj is not None else None)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.export_fields:
            actions.pop("export_csv", None)
        return actions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "tenant":
            kwargs["queryset"] = admin_tenants(request.user)
        elif hasattr(db_field.related_model.objects, "editable_by"):
            kwargs["queryset"] = db_field.related_model.objects.editable_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not is_tenant_admin(request.user, obj.tenant_id):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("You are not an admin of that tenant.")
        super().save_model(request, obj, form, change)


class ReadOnlyInline(admin.TabularInline):
    """An inline anyone who can see the parent row may read (our roles, not Django's model perms)."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AdminOnlyPayload:
    """Shows a row's decrypted `payload` to admins of its tenant; everyone else sees a sentence."""

    @admin.display(description="Payload")
    def payload_shown(self, obj):
        if obj.payload is None:
            return "—"
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(obj.payload, indent=2, default=str))

    @admin.display(description="Payload")
    def payload_hidden(self, obj):
        return "Only admins of this tenant can see payloads."

    def get_readonly_fields(self, request, obj=None):
        admin_view = obj is not None and is_tenant_admin(request.user, obj.tenant_id)
        return [*self.readonly_fields, "payload_shown" if admin_view else "payload_hidden"]
