from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group

from mlconnector.admin_site import admin_site, admin_tenants, is_tenant_admin
from mlconnector.tenants.models import Membership, Tenant

User = get_user_model()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def has_add_permission(self, request, obj=None):
        return obj is not None and is_tenant_admin(request.user, obj.pk)

    def has_change_permission(self, request, obj=None):
        return obj is not None and is_tenant_admin(request.user, obj.pk)

    has_delete_permission = has_change_permission


@admin.register(Tenant, site=admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return Tenant.visible_to(request.user)

    def has_module_permission(self, request):
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return obj is not None and is_tenant_admin(request.user, obj.pk)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(User, site=admin_site)
class ScopedUserAdmin(UserAdmin):
    """Superusers manage users; tenant admins can only find users who share a tenant with them."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(memberships__tenant__in=admin_tenants(request.user)).distinct()

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or (obj is None and is_tenant_admin(request.user))

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


admin_site.register(Group, GroupAdmin)
