"""Template context: the active tenant, the user's role in it, and the tenants they can switch to."""

from mlconnector.tenants.models import Tenant


def tenant_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    tenant = getattr(request, "tenant", None)
    role = getattr(request, "tenant_role", "")
    return {
        "active_tenant": tenant,
        "tenant_role": role,
        "can_edit": tenant is not None and role == "admin",
        "switchable_tenants": Tenant.visible_to(user),
    }
