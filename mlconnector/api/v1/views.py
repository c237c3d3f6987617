"""/api/v1/ endpoints of the core: connections (and their actions, backfills), events and deliveries
(the audit browser's filters, timelines, replay one or in bulk), and the team.

Every queryset is the tenant's (`for_tenant(self.tenant)`): another tenant's row is a 404.
"""

from __future__ import annotations

import json

from django.db.models import Count
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from mlconnector.api.authentication import actor_name
from mlconnector.api.v1 import serializers as s
from mlconnector.api.v1.base import ApiViewSet
from mlconnector.api.v1.errors import ApiError
from mlconnector.audit import outcomes
from mlconnector.audit.filters import EventFilter
from mlconnector.audit.models import AuditRecord
from mlconnector.audit.redaction import redact_mapping
from mlconnector.audit.views import timeline
from mlconnector.connections import services
from mlconnector.connections.models import Connection
from mlconnector.pipeline import backfill
from mlconnector.pipeline.models import Backfill, Delivery
from mlconnector.pipeline.replay import replay_deliveries
from mlconnector.tenants import invitations
from mlconnector.tenants.forms import InviteForm
from mlconnector.tenants.models import Invitation, Membership
from mlconnector.webhooks.models import InboundEvent

# The audit browser's filter, as query parameters (mlconnector/audit/filters.py validates them).
FILTER_PARAMETERS = [
    OpenApiParameter("q", str, description=EventFilter.base_fields["q"].help_text),
    OpenApiParameter("provider", str, description="The event's source, or a target it was delivered to"),
    OpenApiParameter("event_type", str, description="'<source>:<type>', e.g. freshbooks:invoice.create"),
    OpenApiParameter("status", str, enum=[c for c, _ in InboundEvent.Status.choices], description="Event status"),
    OpenApiParameter("delivery", str, enum=[c for c, _ in Delivery.Status.choices], description="Delivery status"),
    OpenApiParameter("since", OpenApiTypes.DATE, description="Received on or after this day"),
    OpenApiParameter("until", OpenApiTypes.DATE, description="Received on or before this day"),
    OpenApiParameter("connection", int, description="Only deliveries to this connection"),
]


def _filter(data) -> EventFilter:
    form = EventFilter(data)
    if not form.is_valid():
        raise ValidationError({k: [e["message"] for e in v] for k, v in form.errors.get_json_data().items()})
    return form


# --- connections ---------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List connections",
        parameters=[
            OpenApiParameter("provider", str, description="e.g. slack"),
            OpenApiParameter("status", str, enum=[c for c, _ in Connection.Status.choices]),
        ],
    ),
    retrieve=extend_schema(summary="One connection, with its health"),
)
class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.ConnectionSerializer

    def get_queryset(self):
        qs = Connection.objects.for_tenant(self.tenant)
        for name in ("provider", "status"):
            if self.request.query_params.get(name):
                qs = qs.filter(**{name: self.request.query_params[name]})
        return qs

    def viewer_may(self, request) -> bool:
        return self.action == "test"  # as in the browser: anyone in the tenant may test a connection

    def _result(self, conn, ok: bool, message: str, code=status.HTTP_200_OK):
        conn.refresh_from_db()
        return Response({"ok": ok, "message": message, "connection": s.ConnectionSerializer(conn).data}, status=code)

    @extend_schema(
        summary="Test a connection (one cheap authenticated call)", request=None, responses=s.ActionResultSerializer
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        conn = self.get_object()
        ok, message = services.run_check(conn, actor=request.user)
        return self._result(conn, ok, f"Test passed. {message}" if ok else f"Test failed: {message}")

    def _apply(self, request, name: str):
        conn = self.get_object()
        try:
            services.apply_action(conn, name, actor=request.user, by=actor_name(request))
        except services.ActionRefused as exc:
            raise ApiError(409, "conflict", str(exc))
        return self._result(conn, True, f"{conn.get_provider_label()} is {conn.get_status_display().lower()}.")

    @extend_schema(summary="Pause: deliveries are held until resumed", request=None, responses=s.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None, format=None):  # noqa: A002
        return self._apply(request, "pause")

    @extend_schema(summary="Resume: what was held is sent", request=None, responses=s.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None, format=None):  # noqa: A002
        return self._apply(request, "resume")

    @extend_schema(summary="Disconnect: nothing more is sent or read", request=None, responses=s.ActionResultSerializer)
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None, format=None):  # noqa: A002
        return self._apply(request, "disconnect")

    @extend_schema(
        summary="Start a backfill of this target from its source",
        request=s.BackfillStartSerializer,
        responses={201: s.BackfillSerializer},
    )
    @action(detail=True, methods=["post"])
    def backfill(self, request, pk=None, format=None):  # noqa: A002
        conn = self.get_object()
        body = s.BackfillStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            started = backfill.start(conn, actor=request.user, record_types=body.validated_data.get("record_types"))
        except backfill.BackfillRefused as exc:
            raise ApiError(409, "conflict", f"Backfill not started: {exc}.")
        return Response(s.BackfillSerializer(started).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Backfills, newest first", parameters=[OpenApiParameter("target", int)]),
    retrieve=extend_schema(summary="One backfill and its progress"),
)
class BackfillViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.BackfillSerializer

    def get_queryset(self):
        qs = Backfill.objects.for_tenant(self.tenant)
        target = self.request.query_params.get("target", "")
        if target:
            if not target.isdigit():
                raise ValidationError({"target": ["A connection id."]})
            qs = qs.filter(target_id=int(target))
        return qs

    @extend_schema(
        summary="Cancel a running backfill (what it queued is still delivered)",
        request=None,
        responses=s.BackfillSerializer,
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None, format=None):  # noqa: A002
        running = self.get_object()
        if not backfill.cancel(running, actor=request.user):
            raise ApiError(409, "conflict", "That backfill has already finished.")
        running.refresh_from_db()
        return Response(s.BackfillSerializer(running).data)


# --- events and deliveries ----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Events, newest first, with the audit browser's filters", parameters=FILTER_PARAMETERS),
    retrieve=extend_schema(summary="One event: its deliveries and timeline", responses=s.EventDetailSerializer),
)
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.EventSerializer

    def get_queryset(self):
        qs = InboundEvent.objects.for_tenant(self.tenant)
        if self.action == "list":
            qs = _filter(self.request.query_params).events(self.tenant)
        return qs.defer("raw_body", "headers").select_related("connection")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset().defer("payload"))
        outcomes.attach(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        event = self.get_object()
        deliveries = list(
            Delivery.objects.filter(event=event).select_related("connection").order_by("created_at", "id")
        )
        event.outcome = outcomes.of_event(event, deliveries)
        payload = None
        if self.is_admin and event.payload is not None:
            payload = json.loads(json.dumps(redact_mapping(event.payload), default=str))
        context = {
            "deliveries": deliveries,
            "timeline": timeline(AuditRecord.objects.filter(event=event)),
            "payload": payload,
        }
        return Response(s.EventDetailSerializer(event, context=context).data)


@extend_schema_view(
    list=extend_schema(
        summary="Deliveries, newest first, with the audit browser's filters", parameters=FILTER_PARAMETERS
    ),
    retrieve=extend_schema(summary="One delivery and its timeline", responses=s.DeliveryDetailSerializer),
)
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = s.DeliverySerializer

    def get_queryset(self):
        qs = Delivery.objects.for_tenant(self.tenant)
        if self.action == "list":
            qs = _filter(self.request.query_params).deliveries(self.tenant)
        return qs.select_related("connection")

    def viewer_may(self, request) -> bool:
        data = request.data if isinstance(request.data, dict) else {}
        return self.action == "bulk_replay" and str(data.get("dry_run", "")).lower() in ("true", "1")

    def retrieve(self, request, *args, **kwargs):
        delivery = self.get_object()
        context = {"timeline": timeline(AuditRecord.objects.filter(delivery=delivery))}
        return Response(s.DeliveryDetailSerializer(delivery, context=context).data)

    @extend_schema(summary="Replay one delivery", request=s.ReplayOneSerializer, responses=s.ReplayResultSerializer)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None, format=None):  # noqa: A002
        delivery = self.get_object()
        body = s.ReplayOneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = replay_deliveries(
            Delivery.objects.filter(pk=delivery.pk),
            actor=request.user,
            resend=body.validated_data["resend"],
            by=actor_name(request),
        )
        return Response({"queued": result.queued, "skipped": result.skipped, "summary": result.summary()})

    @extend_schema(
        summary="Replay every failed delivery matching a filter (dry_run counts them first)",
        operation_id="deliveries_replay_matching",
        request=s.BulkReplaySerializer,
        responses=s.BulkReplayResultSerializer,
    )
    @action(detail=False, methods=["post"], url_path="replay")
    def bulk_replay(self, request, format=None):  # noqa: A002
        body = s.BulkReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        dry_run, expected = data.pop("dry_run"), data.pop("expected_count", None)
        failed = _filter({k: v for k, v in data.items() if v not in (None, "")}).failed_deliveries(self.tenant)
        by_provider = {r["provider"]: r["n"] for r in failed.values("provider").annotate(n=Count("id")).order_by()}
        count = sum(by_provider.values())
        answer = {"dry_run": dry_run, "count": count, "by_provider": by_provider}
        if dry_run:
            return Response({**answer, "summary": f"{count} failed deliveries match; nothing was replayed."})
        if expected is not None and expected != count:
            raise ApiError(
                409, "conflict", f"{count} failed deliveries match now, not {expected}: check the count and send again."
            )
        result = replay_deliveries(failed, actor=request.user, by=actor_name(request))
        return Response({**answer, "queued": result.queued, "skipped": result.skipped, "summary": result.summary()})


# --- the team -----------------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(summary="Members of the tenant and their roles"))
class MemberViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = s.MemberSerializer

    def get_queryset(self):
        return Membership.objects.filter(tenant=self.tenant).select_related("user")


@extend_schema_view(
    list=extend_schema(summary="Open invitations"),
    retrieve=extend_schema(summary="One open invitation"),
    destroy=extend_schema(summary="Withdraw an invitation (its link stops working)"),
)
class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    serializer_class = s.InvitationSerializer

    def get_queryset(self):
        return Invitation.objects.filter(
            tenant=self.tenant, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        ).select_related("invited_by")

    @extend_schema(
        summary="Invite someone by email with a role",
        request=s.InviteSerializer,
        responses={201: s.InvitationSerializer},
    )
    def create(self, request, *args, **kwargs):
        form = self.valid(InviteForm(self.body(), tenant=self.tenant))
        invitation = invitations.invite(
            tenant=self.tenant,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
            build_url=request.build_absolute_uri,
        )
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, invitation):
        Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(revoked_at=timezone.now())
