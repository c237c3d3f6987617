"""Sets request.tenant and request.tenant_role from the session's chosen tenant."""

from __future__ import annotations

from mlconnector.tenants.models import Tenant, role_in

SESSION_KEY = "active_tenant_id"


def active_tenant(request) -> Tenant | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    visible = Tenant.visible_to(user)
    chosen = request.session.get(SESSION_KEY)
    tenant = visible.filter(pk=chosen).first() if chosen else None
    return tenant or visible.order_by("name", "pk").first()


class ActiveTenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.tenant = None
        request.tenant_role = ""
        if not request.path.startswith(("/hooks/", "/sandbox/", "/static/")):
            request.tenant = active_tenant(request)
            request.tenant_role = role_in(request.user, request.tenant) or ""
        return self.get_response(request)


def switch_tenant(request, tenant: Tenant) -> None:
    request.session[SESSION_KEY] = tenant.pk
