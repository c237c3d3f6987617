"""What every /api/v1/ endpoint shares: the tenant it acts in and the caller's role there, cursor
pages, the per-caller rate limit (RateLimit-* headers, 429 with Retry-After), Idempotency-Key on
POSTs, one audit row per write naming the token, and forms' validation turned into the error body.

Integrations build their routes on `ApiView` / `ApiViewSet` (Integration.api_urlconf).
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import permissions, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from mlconnector.api.authentication import actor_name, api_tenant, token_of
from mlconnector.api.models import IdempotencyKey
from mlconnector.api.v1.errors import ApiError
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.recording import record
from mlconnector.ratelimit import limiter
from mlconnector.tenants.models import Membership, role_in

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL = timedelta(hours=24)


class Pages(CursorPagination):
    """Newest first by id; `?limit=` up to 200; `next` / `previous` are opaque links."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"


class TenantRole(permissions.BasePermission):
    """A member of the tenant reads; only its admins change anything (a view may let viewers do a
    read-only POST, such as a dry run, through `viewer_may`)."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        tenant = api_tenant(request)
        role = role_in(request.user, tenant) if tenant is not None else None
        if role is None:
            raise PermissionDenied("You are not a member of any tenant: nothing here is yours to see.")
        request.api_role = role
        if request.method in permissions.SAFE_METHODS or view.viewer_may(request):
            request.api_read_only = True
            return True
        if role != Membership.Role.ADMIN:
            raise PermissionDenied(
                f"Only admins of {tenant.name} can change this; {request.user.get_username()} is a viewer there."
            )
        return True


def rate() -> tuple[int, float]:
    """(requests, per seconds) allowed to one token, or one signed-in person."""
    return int(settings.MLCONNECTOR_API_RATE_LIMIT), float(settings.MLCONNECTOR_API_RATE_WINDOW)


class ApiMixin:
    # JSON only (the browsable API is not served; /api/v1/docs/ documents every route).
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]
    pagination_class = Pages
    permission_classes = [permissions.IsAuthenticated, TenantRole]

    # --- who and where -------------------------------------------------------------------------
    @property
    def tenant(self):
        return api_tenant(self.request)

    @property
    def is_admin(self) -> bool:
        return getattr(self.request, "api_role", "") == Membership.Role.ADMIN

    def viewer_may(self, request) -> bool:
        """A POST that changes nothing (a test, a preview, a dry run): viewers may send it too."""
        return False

    # --- rate limit ------------------------------------------------------------------------------
    def check_throttles(self, request):
        """A shared GCRA bucket per caller (Redis or the database, mlconnector/ratelimit.py): `limit`
        calls at once, refilled at limit/window per second."""
        token = token_of(request)
        if token is None and not request.user.is_authenticated:
            return
        limit, window = rate()
        key = f"api:token:{token.pk}" if token is not None else f"api:user:{request.user.pk}"
        interval = window / limit
        wait = limiter().reserve(key, interval, window - interval)
        if wait is None:
            request.rate_state = (limit, 0, math.ceil(interval))
            raise ApiError(
                429,
                "rate_limited",
                f"Too many requests: {limit} per {int(window)} s. Try again in {math.ceil(interval)} s.",
            )
        remaining = max(0, int((window - interval - wait) / interval))
        request.rate_state = (limit, remaining, math.ceil(wait + interval))

    # --- idempotency -----------------------------------------------------------------------------
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        token = token_of(request)
        if request.method != "POST" or not key or token is None:
            return
        if len(key) > 255:
            raise ValidationError({IDEMPOTENCY_HEADER: ["At most 255 characters."]})
        data = request.data
        if hasattr(data, "lists"):
            data = dict(data.lists())
        sent = json.dumps(data, sort_keys=True, default=str).encode()
        fingerprint = hashlib.sha256(b"\0".join([request.method.encode(), request.path.encode(), sent])).hexdigest()
        IdempotencyKey.objects.filter(token=token, key=key, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
        try:
            with transaction.atomic():  # a savepoint: the clash must not break an enclosing transaction
                row = IdempotencyKey.objects.create(token=token, key=key, fingerprint=fingerprint)
        except IntegrityError:
            row = IdempotencyKey.objects.filter(token=token, key=key).first()
            if row is None:  # removed between the two statements (a 5xx answer): treat as in progress
                raise ApiError(409, "conflict", "A request with this Idempotency-Key is still running.")
            if row.fingerprint != fingerprint:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for a different request; use a new key for a new request.",
                )
            if row.status_code is None:
                raise ApiError(409, "conflict", "A request with this Idempotency-Key is still running.")
            raise _Replayed(row)
        request.idempotency_row = row

    def handle_exception(self, exc):
        if isinstance(exc, _Replayed):
            response = Response(exc.row.response, status=exc.row.status_code)
            response["Idempotent-Replayed"] = "true"
            self.request.idempotent_replay = True
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        state = getattr(request, "rate_state", None)
        if state is not None:
            limit, remaining, reset = state
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
            if response.status_code == 429:
                response["Retry-After"] = str(reset)
        row = getattr(request, "idempotency_row", None)
        if row is not None:
            if response.status_code >= 500:
                IdempotencyKey.objects.filter(pk=row.pk).delete()
            else:
                data = json.loads(JSONRenderer().render(response.data) or b"null")
                IdempotencyKey.objects.filter(pk=row.pk).update(status_code=response.status_code, response=data)
        if (
            request.method not in permissions.SAFE_METHODS
            and response.status_code < 400
            and not getattr(request, "api_read_only", False)
            and not getattr(request, "idempotent_replay", False)
        ):
            self.audit_write(request, response)
        return response

    def audit_write(self, request, response) -> None:
        record(
            AuditRecord.Kind.API,
            tenant=self.tenant,
            actor=request.user,
            outcome=AuditRecord.Outcome.OK,
            method=request.method,
            url=request.path,
            status_code=response.status_code,
            message=f"{request.method} {request.path} by {actor_name(request)}",
        )

    # --- an integration's connection ----------------------------------------------------------------
    provider = ""  # on an integration's views: whose connections `connection()` finds

    def connection(self, pk: int):
        """This tenant's connection `pk` of the view's provider: any other (or another tenant's) is a 404."""
        from django.shortcuts import get_object_or_404

        from mlconnector.connections.models import Connection

        return get_object_or_404(Connection.objects.for_tenant(self.tenant).filter(provider=self.provider), pk=pk)

    # --- bodies and forms -------------------------------------------------------------------------
    def body(self) -> dict:
        """The JSON body, which must be an object."""
        if not isinstance(self.request.data, dict):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        return self.request.data

    def settings_body(self, allowed, *, required=()) -> dict:
        """The body of a settings write: only `allowed` names, each a string, `required` ones present;
        anything else is a 400 naming every field at fault, before a form sees it."""
        body = self.body()
        problems = {k: [f"Not a setting; they are: {', '.join(allowed)}."] for k in sorted(set(body) - set(allowed))}
        problems.update({k: ["A string."] for k in allowed if k in body and not isinstance(body[k], str)})
        problems.update({k: ["This field is required."] for k in required if k not in body})
        if problems:
            raise ValidationError(problems)
        return body

    @staticmethod
    def valid(form):
        """A Django form's own validation, its errors as the API's error body (400)."""
        if not form.is_valid():
            raise ValidationError({k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()})
        return form


class _Replayed(Exception):
    def __init__(self, row: IdempotencyKey):
        self.row = row


class ApiView(ApiMixin, APIView):
    pass


class ApiViewSet(ApiMixin, viewsets.GenericViewSet):
    pass
