"""GoCardless's routes in the REST API (/api/v1/gocardless/<connection>/): the month-end AR
reconciliation, the same report as the page and its CSV (integrations.gocardless.reconciliation);
the connection's settings (the settings page's own form); the "needs a mandate" list and its
one-click billing-request link."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from integrations.gocardless import reconciliation
from integrations.gocardless.forms import SettingsForm
from integrations.gocardless.models import MandateRequest
from mlconnector.api.v1.base import ApiView
from mlconnector.api.v1.errors import ApiError
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, ProviderError

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
CURRENCY = re.compile(r"^[A-Z]{3}$")

PARAMETERS = [
    OpenApiParameter("month", str, description="YYYY-MM (default: the newest month with payments)"),
    OpenApiParameter("currency", str, description="ISO 4217 code, e.g. GBP (default: the first one used)"),
]


class LineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    payment = serializers.CharField()
    invoice = serializers.CharField()
    client = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    fees = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    payout = serializers.CharField()
    freshbooks_payment = serializers.CharField()
    note = serializers.CharField()


class DifferenceSerializer(serializers.Serializer):
    about = serializers.CharField()
    words = serializers.CharField()


class ReportSerializer(serializers.Serializer):
    month = serializers.CharField()
    currency = serializers.CharField()
    balanced = serializers.BooleanField(
        help_text="requested = collected + failed + pending; collected = posted + flagged"
    )
    counts = serializers.DictField(child=serializers.IntegerField())
    totals = serializers.DictField(child=serializers.CharField(), help_text="Decimal amounts as strings")
    differences = DifferenceSerializer(many=True)
    lines = LineSerializer(many=True)


class GoCardlessView(ApiView):
    pagination_class = None  # one month's report is read whole; a handful of settings and requests
    provider = "gocardless"

    def choose(self, request, pk: int):
        conn = self.connection(pk)
        months, currencies = reconciliation.months_and_currencies(conn)
        month = request.query_params.get("month") or (months[0] if months else f"{timezone.localdate():%Y-%m}")
        currency = (request.query_params.get("currency") or (currencies[0] if currencies else "GBP")).upper()
        fields = {}
        if not MONTH.match(month):
            fields["month"] = ["Give the month as YYYY-MM, e.g. 2026-11."]
        if not CURRENCY.match(currency):
            fields["currency"] = ["Give a three-letter currency code, e.g. GBP."]
        if fields:
            raise ApiError(400, "invalid", "The month or currency is not one the report can show.", fields=fields)
        return conn, reconciliation.build(conn, month, currency)


class ReportView(GoCardlessView):
    @extend_schema(
        summary="Month-end AR reconciliation: requested, collected, posted, paid out, and every difference",
        parameters=PARAMETERS,
        responses=ReportSerializer,
    )
    def get(self, request, connection: int, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        _, report = self.choose(request, connection)
        return Response(
            {
                "month": report.month,
                "currency": report.currency,
                "balanced": report.balanced,
                "counts": report.counts,
                "totals": {k: str(v) for k, v in report.totals.items()},
                "differences": [{"about": a, "words": w} for a, w in report.differences],
                "lines": [
                    {k: str(v) if isinstance(v, Decimal) else v for k, v in vars(line).items()} for line in report.lines
                ],
            }
        )


class ReportCsvView(GoCardlessView):
    @extend_schema(
        summary="The same report as CSV, byte for byte what the page's Download CSV gives",
        parameters=PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, connection: int, format=None):  # noqa: A002
        conn, report = self.choose(request, connection)
        response = HttpResponse(reconciliation.to_csv(report), content_type="text/csv; charset=utf-8")
        name = f"gocardless-{conn.pk}-{report.month}-{report.currency}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


SETTINGS = ("fees_category", "alerts_channel", "webhook_secret")


class SettingsOut(serializers.Serializer):
    fees_category = serializers.CharField(help_text="FreshBooks expense category the fees go to")
    alerts_channel = serializers.CharField(allow_blank=True, help_text="Slack channel for payments that need a person")
    webhook_secret_set = serializers.BooleanField(help_text="Whether an endpoint secret is saved (never shown)")
    webhook_url = serializers.CharField(help_text="The URL to paste into GoCardless as the webhook endpoint")
    changed = serializers.ListField(child=serializers.CharField(), required=False, help_text="After a change")


class SettingsIn(serializers.Serializer):
    """Documents the body; SettingsForm (the settings page's) validates it."""

    fees_category = serializers.CharField(max_length=100, required=False)
    alerts_channel = serializers.CharField(max_length=80, required=False, allow_blank=True)
    webhook_secret = serializers.CharField(
        max_length=200, required=False, write_only=True, help_text="Write only; stored encrypted"
    )


def _settings(conn: Connection) -> dict:
    from integrations.gocardless.views import webhook_url

    config = conn.config or {}
    return {
        "fees_category": config.get("fees_category") or settings.GOCARDLESS_FEES_CATEGORY,
        "alerts_channel": config.get("alerts_channel", ""),
        "webhook_secret_set": bool(conn.secrets().get("webhook_secret")),
        "webhook_url": webhook_url(conn),
    }


class SettingsView(GoCardlessView):
    @extend_schema(summary="The connection's settings (the secret only as set or not)", responses=SettingsOut)
    def get(self, request, connection: int, format=None):  # noqa: A002
        return Response(_settings(self.connection(connection)))

    @extend_schema(
        summary="Change settings, validated as on the settings page; what is left out is kept",
        request=SettingsIn,
        responses=SettingsOut,
    )
    def patch(self, request, connection: int, format=None):  # noqa: A002
        conn = self.connection(connection)
        body = self.settings_body(SETTINGS)
        current = _settings(conn)
        data = {"fees_category": current["fees_category"], "alerts_channel": current["alerts_channel"], **body}
        form = self.valid(SettingsForm(data))
        changed = form.save(conn, actor=request.user)
        conn.refresh_from_db()
        return Response({**_settings(conn), "changed": changed})


class MandateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="mandate: a mandate to set up; decision: a person to decide")
    status = serializers.CharField(help_text="open, link (created), resolved, closed")
    invoice_id = serializers.CharField()
    invoice_number = serializers.CharField(allow_blank=True)
    client = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True, allow_null=True)
    currency = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()
    link = serializers.CharField(allow_blank=True, help_text="GoCardless's hosted page for the client, once made")
    created_at = serializers.DateTimeField()


def _mandate(row: MandateRequest) -> dict:
    return {
        "id": row.pk,
        "kind": row.kind,
        "status": row.status,
        "invoice_id": row.invoice_id,
        "invoice_number": row.invoice_number or "",
        "client": row.client_name or "",
        "email": row.email or "",
        "amount": None if row.amount is None else f"{row.amount:.2f}",
        "currency": row.currency,
        "reason": row.reason,
        "link": row.flow_url or "",
        "created_at": row.created_at,
    }


WAITING = [MandateRequest.Status.OPEN, MandateRequest.Status.LINK_SENT]


class MandatesView(GoCardlessView):
    @extend_schema(
        summary="Invoices that wait for a mandate (or a person's decision)", responses=MandateSerializer(many=True)
    )
    def get(self, request, connection: int, format=None):  # noqa: A002
        conn = self.connection(connection)
        rows = MandateRequest.objects.filter(connection=conn, status__in=WAITING).order_by("created_at", "pk")
        return Response([_mandate(r) for r in rows])


class MandateLinkView(GoCardlessView):
    @extend_schema(
        summary="Make (or return) the billing-request link to send the client, as the page's button does",
        request=None,
        responses=MandateSerializer,
    )
    def post(self, request, connection: int, request_id: int, format=None):  # noqa: A002
        from django.urls import reverse

        from integrations.gocardless.payments_out import billing_request_link

        conn = self.connection(connection)
        row = get_object_or_404(
            MandateRequest, connection=conn, pk=request_id, kind=MandateRequest.Kind.MANDATE, status__in=WAITING
        )
        back = settings.MLCONNECTOR_PUBLIC_URL + reverse("gocardless-mandates", args=[conn.pk])
        try:
            billing_request_link(row, AuditContext(tenant=conn.tenant, connection=conn, actor=request.user), back)
        except ProviderError as exc:
            raise ApiError(502, "provider_error", f"GoCardless could not make the link: {exc.message}") from exc
        row.refresh_from_db()
        return Response(_mandate(row))


urlpatterns = [
    path("<int:connection>/settings/", SettingsView.as_view(), name="v1-gocardless-settings"),
    path("<int:connection>/mandates/", MandatesView.as_view(), name="v1-gocardless-mandates"),
    path(
        "<int:connection>/mandates/<int:request_id>/link/", MandateLinkView.as_view(), name="v1-gocardless-mandate-link"
    ),
    path("<int:connection>/reconciliation/", ReportView.as_view(), name="v1-gocardless-report"),
    path("<int:connection>/reconciliation/csv/", ReportCsvView.as_view(), name="v1-gocardless-report-csv"),
]
