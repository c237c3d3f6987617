"""API authentication: personal tokens (`Authorization: Bearer mlc_…`) beside the browser's session.

A token acts for its user in its own tenant only, with the user's role there at the time of the call;
a session acts in the tenant chosen in the browser. Session requests keep Django's CSRF check
(DRF's SessionAuthentication), token requests need none: they carry no cookie.
"""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from mlconnector.api import tokens
from mlconnector.api.models import ApiToken
from mlconnector.tenants.models import role_in

KEYWORDS = (b"bearer", b"token")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise AuthenticationFailed("Send the token as `Authorization: Bearer <token>`, with no spaces in it.")
        try:
            presented = header[1].decode()
        except UnicodeDecodeError:
            raise AuthenticationFailed("This API token is not valid.")
        row = tokens.resolve(presented)
        if row is None:
            raise AuthenticationFailed("This API token is not valid: it is unknown, revoked or expired.")
        if not row.user.is_active:
            raise AuthenticationFailed("The user of this API token is deactivated.")
        if role_in(row.user, row.tenant) is None:
            raise AuthenticationFailed(f"The user of this API token is no longer a member of {row.tenant.name}.")
        return row.user, row

    def authenticate_header(self, request) -> str:
        # Makes an unauthenticated call a 401 (with this challenge) rather than a 403.
        return 'Bearer realm="ml-connector"'


def token_of(request) -> ApiToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def api_tenant(request):
    """The tenant an API call acts in: the token's, else the one chosen in the browser session."""
    token = token_of(request)
    if token is not None:
        return token.tenant
    return getattr(request._request if hasattr(request, "_request") else request, "tenant", None)


def actor_name(request) -> str:
    """Who did it, for the audit trail: "alice with API token “deploy”", or "alice" in the browser."""
    user = request.user.get_username() if request.user.is_authenticated else "anonymous"
    token = token_of(request)
    return f"{user} with API token “{token.name}”" if token is not None else f"{user} (browser session)"
