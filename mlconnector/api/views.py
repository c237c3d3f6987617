"""The first API (/api/), read-only and session-only: deprecated by /api/v1/, kept answering as it did."""

from __future__ import annotations

from rest_framework import serializers, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from mlconnector import search
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.crypto import EncryptedCharField, EncryptedDecimalField
from mlconnector.pipeline.models import Delivery
from mlconnector.pipeline.replay import replay_deliveries
from mlconnector.tenants.models import can_edit
from mlconnector.webhooks.models import InboundEvent


class ModelSerializer(serializers.ModelSerializer):
    """Encrypted columns are read as what they hold (text, amounts), never as ciphertext."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        EncryptedCharField: serializers.CharField,
        EncryptedDecimalField: serializers.CharField,
    }


class ConnectionSerializer(ModelSerializer):
    class Meta:
        model = Connection
        fields = [
            "id",
            "tenant",
            "provider",
            "name",
            "status",
            "external_account_id",
            "last_success_at",
            "last_error",
            "last_error_at",
            "created_at",
        ]


class EventSerializer(ModelSerializer):
    class Meta:
        model = InboundEvent
        fields = [
            "id",
            "tenant",
            "connection",
            "provider",
            "source",
            "event_type",
            "object_id",
            "invoice_number",
            "counterparty",
            "amount",
            "currency",
            "status",
            "attempts",
            "last_error",
            "received_at",
            "processed_at",
        ]


class DeliverySerializer(ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "tenant",
            "event",
            "connection",
            "provider",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "remote_id",
            "last_error",
            "created_at",
            "succeeded_at",
        ]


class AuditSerializer(ModelSerializer):
    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "tenant",
            "created_at",
            "kind",
            "outcome",
            "provider",
            "connection",
            "event",
            "delivery",
            "event_type",
            "object_id",
            "invoice_number",
            "method",
            "url",
            "status_code",
            "duration_ms",
            "remote_id",
            "message",
        ]


class ScopedViewSet(viewsets.ReadOnlyModelViewSet):
    """Deprecated by /api/v1/: kept answering as it did (session only), each answer saying so."""

    authentication_classes = [SessionAuthentication]
    schema = None  # not in the v1 schema
    model = None
    filter_fields: tuple[str, ...] = ()

    # Encrypted columns cannot be matched by the database: they are searched through the blind
    # index (mlconnector/search.py), by their words or the start of them.
    search_fields: tuple[str, ...] = ()

    def get_queryset(self):
        qs = self.model.objects.for_user(self.request.user)
        for name in self.filter_fields:
            value = self.request.query_params.get(name)
            if value:
                qs = qs.filter(**{name: value})
        for name in self.search_fields:
            value = self.request.query_params.get(name)
            if value:
                qs = self.search(qs, value)
        return qs

    def search(self, qs, text: str):
        return search.matching_any_tenant(qs, text)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Deprecation"] = "true"
        response["Link"] = '</api/v1/>; rel="successor-version", </api/v1/docs/>; rel="deprecation"'
        return response


class ConnectionViewSet(ScopedViewSet):
    model = Connection
    serializer_class = ConnectionSerializer
    filter_fields = ("provider", "status")


class EventViewSet(ScopedViewSet):
    model = InboundEvent
    serializer_class = EventSerializer
    filter_fields = ("provider", "status", "event_type", "object_id")
    search_fields = ("invoice_number", "q")


class DeliveryViewSet(ScopedViewSet):
    model = Delivery
    serializer_class = DeliverySerializer
    filter_fields = ("provider", "status", "event_type")

    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        delivery = self.get_object()
        if not can_edit(request.user, delivery.tenant):
            raise PermissionDenied("Only an admin of this tenant can replay deliveries.")
        result = replay_deliveries(
            Delivery.objects.filter(pk=delivery.pk),
            actor=request.user,
            resend=str(request.data.get("resend", "")).lower() in {"1", "true"},
        )
        return Response({"queued": result.queued, "skipped": result.skipped, "summary": result.summary()})


class AuditViewSet(ScopedViewSet):
    model = AuditRecord
    serializer_class = AuditSerializer
    filter_fields = ("provider", "kind", "outcome", "event_type", "object_id")
    search_fields = ("invoice_number",)

    def search(self, qs, text: str):
        events = search.matching_any_tenant(InboundEvent.objects.for_user(self.request.user), text)
        return qs.filter(event__in=events.values("pk"))
