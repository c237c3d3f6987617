"""Tenants (the customers of ml-connector) and who belongs to them, with which role."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.text import slugify

from mlconnector.tenants.scoping import TenantQuerySet


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    pass


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)[:80] or "tenant"
        super().save(*args, **kwargs)

    @staticmethod
    def visible_to(user):
        """Tenants a user can see (a Tenant is its own tenant, so it scopes by membership)."""
        if user is None or not user.is_authenticated or not user.is_active:
            return Tenant.objects.none()
        if user.is_superuser:
            return Tenant.objects.all()
        return Tenant.objects.filter(memberships__user=user).distinct()


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")]
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return f"{self.user} · {self.tenant} ({self.role})"


def role_in(user, tenant) -> str | None:
    """The user's role in a tenant: 'admin', 'viewer', or None. Superusers act as admins."""
    if user is None or not user.is_authenticated or not user.is_active or tenant is None:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    membership = Membership.objects.filter(user=user, tenant=tenant).only("role").first()
    return membership.role if membership else None


def can_edit(user, tenant) -> bool:
    return role_in(user, tenant) == Membership.Role.ADMIN


class Invitation(models.Model):
    """An admin's invitation of someone (by email) into a tenant with a role; its link works once.

    The link carries a signed, timestamped token naming this row and its nonce: the signature
    proves we issued it, the timestamp expires it, and the nonce plus `accepted_at` make it single-use.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.VIEWER)
    nonce = models.CharField(max_length=64, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "accepted_at"], name="invitation_tenant_open")]

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant} ({self.role})"

    @property
    def is_open(self) -> bool:
        from django.utils import timezone

        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()
