"""Salesforce's routes in the REST API (/api/v1/salesforce/<connection>/): the connection's settings
with exactly the settings page's validation and saving (forms.SettingsForm), and what the connection
page shows about the org from what is stored (no call to Salesforce to read it)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from integrations.salesforce import org as orgmod
from integrations.salesforce.forms import SettingsForm
from mlconnector.api.v1.base import ApiView
from mlconnector.connections.models import Connection

FIELDS = (
    "account_external_field",
    "opportunity_external_field",
    "open_stage",
    "paid_field",
    "invoice_match_field",
    "invoice_lookup_field",
)
REQUIRED = FIELDS[:4]  # the Invoice link's two fields, left out or empty, take their default names


class SettingsSerializer(serializers.Serializer):
    account_external_field = serializers.CharField(help_text="Account field holding the FreshBooks client id")
    opportunity_external_field = serializers.CharField(help_text="Opportunity field holding the FreshBooks invoice id")
    open_stage = serializers.CharField(help_text="Stage of an unpaid invoice's Opportunity")
    paid_field = serializers.CharField(help_text="Opportunity Currency field filled with the amount paid so far")
    invoice_match_field = serializers.CharField(
        help_text="Order Management: the Invoice field holding the FreshBooks invoice id"
    )
    invoice_lookup_field = serializers.CharField(
        help_text="Order Management: the Opportunity's Lookup(Invoice) field ml-connector fills"
    )
    open_stages = serializers.ListField(
        child=serializers.CharField(), help_text="The stages open_stage may take (the org's open stages)"
    )
    won_stage = serializers.CharField(allow_blank=True, help_text="Found in the org (OpportunityStage, IsWon = true)")


class SavedSettingsSerializer(SettingsSerializer):
    changed = serializers.ListField(child=serializers.CharField(), help_text="The fields this request changed")
    warning = serializers.CharField(
        allow_blank=True, help_text="Saved, but the org's fields could not be re-read (why), if so"
    )


class SettingsInput(serializers.Serializer):
    """Documents the body; SettingsForm (the settings page's) validates it."""

    account_external_field = serializers.CharField(max_length=80, help_text="A custom field's API name (…__c)")
    opportunity_external_field = serializers.CharField(max_length=80, help_text="A custom field's API name (…__c)")
    open_stage = serializers.CharField(help_text="One of open_stages")
    paid_field = serializers.CharField(max_length=80, help_text="A custom field's API name (…__c)")
    invoice_match_field = serializers.CharField(
        max_length=80, required=False, allow_blank=True, help_text="A custom field's API name; empty: the default"
    )
    invoice_lookup_field = serializers.CharField(
        max_length=80, required=False, allow_blank=True, help_text="A custom field's API name; empty: the default"
    )


class UsageSerializer(serializers.Serializer):
    used = serializers.IntegerField()
    max = serializers.IntegerField()
    percent = serializers.IntegerField()
    low = serializers.BooleanField(help_text="Below SALESFORCE_LOW_ALLOWANCE: ml-connector spaces its calls out")
    at = serializers.DateTimeField(allow_null=True, help_text="When Salesforce last reported it")


class MissingFieldSerializer(serializers.Serializer):
    sobject = serializers.CharField()
    field = serializers.CharField()
    problem = serializers.CharField(help_text="missing, or not an External ID")
    type = serializers.CharField(help_text="What to create")
    label = serializers.CharField()
    name = serializers.CharField()
    until = serializers.CharField(help_text="What waits until it exists")


class OptionalFieldSerializer(serializers.Serializer):
    sobject = serializers.CharField()
    field = serializers.CharField()
    type = serializers.CharField()
    label = serializers.CharField()
    name = serializers.CharField()
    why = serializers.CharField()


class OrgSerializer(serializers.Serializer):
    my_domain = serializers.CharField()
    is_sandbox = serializers.BooleanField()
    api_version = serializers.CharField(allow_blank=True, help_text="Pinned when connected")
    api_usage = UsageSerializer(allow_null=True, help_text="Daily API requests, from Sforce-Limit-Info")
    won_stage = serializers.CharField(allow_blank=True)
    open_stages = serializers.ListField(child=serializers.CharField())
    multi_currency = serializers.BooleanField()
    missing_fields = MissingFieldSerializer(many=True, help_text="External-id fields to create before records sync")
    optional_fields = OptionalFieldSerializer(many=True, help_text="Fields filled when they exist")
    order_management = serializers.BooleanField(help_text="The org has Order Management's Invoice object")
    invoice_link = serializers.BooleanField(help_text="Invoices are linked to their Opportunities")
    invoice_link_missing = MissingFieldSerializer(
        many=True, help_text="Fields of the Invoice link to create (or fix) before Invoices are linked"
    )


def _settings(conn: Connection) -> dict:
    form = SettingsForm(conn=conn)
    return {
        **form.initial,
        "open_stages": [value for value, _ in form.fields["open_stage"].choices],
        "won_stage": (conn.config or {}).get("won_stage") or "",
    }


def _org(conn: Connection) -> dict:
    c = conn.config or {}
    return {
        "my_domain": c.get("my_domain", ""),
        "is_sandbox": bool(c.get("is_sandbox")),
        "api_version": str(c.get("api_version") or ""),
        "api_usage": orgmod.usage(conn),
        "won_stage": c.get("won_stage") or "",
        "open_stages": list(c.get("open_stages") or []),
        "multi_currency": bool(c.get("multi_currency")),
        "missing_fields": [{"problem": "missing", **m} for m in c.get("missing_fields") or []],
        "optional_fields": list(c.get("optional_fields") or []),
        "order_management": bool(c.get("order_management")),
        "invoice_link": bool(c.get("invoice_link")),
        "invoice_link_missing": [{"problem": "missing", **m} for m in c.get("invoice_link_missing") or []],
    }


class SalesforceView(ApiView):
    pagination_class = None
    provider = "salesforce"


class SettingsView(SalesforceView):
    @extend_schema(
        summary="The connection's settings: external-id fields, open stage, paid-so-far field",
        responses=SettingsSerializer,
    )
    def get(self, request, connection: int, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        return Response(_settings(self.connection(connection)))

    @extend_schema(
        summary="Replace the settings (validated as on the settings page; the org's fields are re-read)",
        request=SettingsInput,
        responses=SavedSettingsSerializer,
    )
    def put(self, request, connection: int, format=None):  # noqa: A002
        return self._save(self.connection(connection), partial=False)

    @extend_schema(
        summary="Change some settings (validated as on the settings page; the org's fields are re-read)",
        request=SettingsInput,  # drf-spectacular makes every field optional for PATCH
        responses=SavedSettingsSerializer,
    )
    def patch(self, request, connection: int, format=None):  # noqa: A002
        return self._save(self.connection(connection), partial=True)

    def _save(self, conn: Connection, *, partial: bool) -> Response:
        body = self.settings_body(FIELDS, required=() if partial else REQUIRED)
        if not partial:  # a replacement: what it leaves out takes its default name
            body = {**dict.fromkeys(set(FIELDS) - set(REQUIRED), ""), **body}
        form = SettingsForm(conn=conn)
        form = self.valid(SettingsForm({**form.initial, **body}, conn=conn))
        saved = form.save(conn, actor=self.request.user)
        return Response({**_settings(conn), "changed": sorted(saved.changes), "warning": saved.problem})


class OrgView(SalesforceView):
    @extend_schema(
        summary="What the connection page shows about the org: API usage, won stage, fields to create",
        responses=OrgSerializer,
    )
    def get(self, request, connection: int, format=None):  # noqa: A002
        return Response(_org(self.connection(connection)))


urlpatterns = [
    path("<int:connection>/settings/", SettingsView.as_view(), name="v1-salesforce-settings"),
    path("<int:connection>/org/", OrgView.as_view(), name="v1-salesforce-org"),
]
