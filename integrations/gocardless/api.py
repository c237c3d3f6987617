"""GoCardless's routes in the REST API (/api/v1/gocardless/<connection>/): the month-end AR
reconciliation, the same report as the page and its CSV (integrations.gocardless.reconciliation)."""

from __future__ import annotations

import re
from decimal import Decimal

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from integrations.gocardless import reconciliation
from mlconnector.api.v1.base import ApiView
from mlconnector.api.v1.errors import ApiError
from mlconnector.connections.models import Connection

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
    pagination_class = None  # one month's report is read whole

    def choose(self, request, pk: int):
        conn = get_object_or_404(Connection.objects.for_tenant(self.tenant).filter(provider="gocardless"), pk=pk)
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


urlpatterns = [
    path("<int:connection>/reconciliation/", ReportView.as_view(), name="v1-gocardless-report"),
    path("<int:connection>/reconciliation/csv/", ReportCsvView.as_view(), name="v1-gocardless-report-csv"),
]
