"""HubSpot's routes in the REST API (/api/v1/hubspot/<connection>/): the schedule (real time or a
digest, with exactly the connection page's validation, forms.ScheduleForm), whether HubSpot takes
invoices and how many wait, and "check invoice support now" (support.py, as the page's button)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from integrations.hubspot import forms as schedules
from integrations.hubspot import support
from mlconnector.api.v1.base import ApiView
from mlconnector.api.v1.errors import ApiError


class ScheduleSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=schedules.MODES, help_text="realtime: within seconds; digest: every N hours")
    every_hours = serializers.IntegerField(
        allow_null=True, min_value=schedules.MIN_HOURS, max_value=schedules.MAX_HOURS, help_text="Null in real time"
    )


class ScheduleInput(serializers.Serializer):
    """Documents the body (for PATCH every field is optional); ScheduleForm, the connection page's,
    validates it over the current schedule."""

    mode = serializers.ChoiceField(choices=schedules.MODES)
    every_hours = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=schedules.MIN_HOURS,
        max_value=schedules.MAX_HOURS,
        help_text="Required for a digest; ignored in real time",
    )


class LastCheckSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    ok = serializers.BooleanField(allow_null=True)
    message = serializers.CharField(allow_blank=True)


class InvoiceSupportSerializer(serializers.Serializer):
    available = serializers.BooleanField(help_text="False once HubSpot refused an invoice write")
    reason = serializers.CharField(allow_blank=True, help_text="HubSpot's refusal, in words")
    since = serializers.DateTimeField(allow_null=True)
    held = serializers.IntegerField(help_text="Invoice deliveries waiting for HubSpot invoice support")
    probe = serializers.IntegerField(allow_null=True, help_text="The delivery trying HubSpot again now, if any")
    last_check = LastCheckSerializer(allow_null=True, help_text="The daily check's last run")
    next_check_at = serializers.DateTimeField(allow_null=True)


class CheckSerializer(serializers.Serializer):
    message = serializers.CharField()
    invoices = InvoiceSupportSerializer()


FIELDS = ("mode", "every_hours")


class HubSpotView(ApiView):
    pagination_class = None
    provider = "hubspot"


class ScheduleView(HubSpotView):
    @extend_schema(
        summary="When HubSpot changes: in real time, or one digest every N hours", responses=ScheduleSerializer
    )
    def get(self, request, connection: int, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        return Response(schedules.current(self.connection(connection)))

    @extend_schema(
        summary="Change the schedule (validated as on the connection page)",
        request=ScheduleInput,
        responses=ScheduleSerializer,
    )
    def patch(self, request, connection: int, format=None):  # noqa: A002
        conn = self.connection(connection)
        body = self.body()
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise ValidationError(
                {k: [f"Not a field of the schedule; they are: {', '.join(FIELDS)}."] for k in unknown}
            )
        data = {**schedules.current(conn), **body}
        if not isinstance(data["mode"], str):
            raise ValidationError({"mode": ["Choose real time (realtime) or a digest (digest)."]})
        hours = data.get("every_hours")
        if isinstance(hours, bool) or not isinstance(hours, int | str | None):
            raise ValidationError({"every_hours": ["A whole number of hours, 1 to 24."]})
        form = self.valid(
            schedules.ScheduleForm({"mode": data["mode"], "every_hours": "" if hours is None else str(hours)})
        )
        form.save(conn, actor=request.user)
        return Response(schedules.current(conn))


class InvoiceSupportView(HubSpotView):
    @extend_schema(
        summary="Whether HubSpot takes invoices, how many wait for it, and the daily check",
        responses=InvoiceSupportSerializer,
    )
    def get(self, request, connection: int, format=None):  # noqa: A002
        return Response(support.state(self.connection(connection)))


class InvoiceCheckView(HubSpotView):
    @extend_schema(
        summary="Check invoice support now: the oldest waiting invoice tries HubSpot again (admins only)",
        request=None,
        responses={202: CheckSerializer},
    )
    def post(self, request, connection: int, format=None):  # noqa: A002
        conn = self.connection(connection)
        if not support.check_now(conn):
            raise ApiError(409, "conflict", "This connection has no daily check to run: reconnect HubSpot first.")
        return Response(
            {
                "message": "Checking HubSpot invoice support now. Waiting invoices go through by themselves "
                "if HubSpot takes them.",
                "invoices": support.state(conn),
            },
            status=202,
        )


urlpatterns = [
    path("<int:connection>/schedule/", ScheduleView.as_view(), name="v1-hubspot-schedule"),
    path("<int:connection>/invoices/", InvoiceSupportView.as_view(), name="v1-hubspot-invoices"),
    path("<int:connection>/invoices/check/", InvoiceCheckView.as_view(), name="v1-hubspot-invoices-check"),
]
