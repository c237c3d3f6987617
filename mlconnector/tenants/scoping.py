"""The one tenant-scoping mechanism: admin, views, API and tasks all filter through it.

Every tenant-owned model inherits TenantOwned, whose manager offers `for_user(user)` (what a person
may see: superusers everything, everyone else the tenants they are a member of) and
`for_tenant(tenant)` (what a task working for one tenant may touch).
"""

from __future__ import annotations

from django.db import models


class TenantQuerySet(models.QuerySet):
    def for_user(self, user) -> TenantQuerySet:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(tenant__memberships__user=user).distinct()

    def editable_by(self, user) -> TenantQuerySet:
        """Rows the user may change: superusers, or admins of the row's tenant."""
        from mlconnector.tenants.models import Membership

        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(tenant__memberships__user=user, tenant__memberships__role=Membership.Role.ADMIN).distinct()

    def for_tenant(self, tenant) -> TenantQuerySet:
        return self.filter(tenant=tenant)


class TenantOwned(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True
