"""Slack's routes in the REST API (/api/v1/slack/): routing rules, with exactly the rules page's
validation (RoutingRuleForm) and saving (rule_changes.py), their preview, and the channel list."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from integrations.slack.channels import known_channels, slack_connection_for
from integrations.slack.forms import RoutingRuleForm
from integrations.slack.models import EVENT_CHOICES, EVENT_LABELS, RoutingRule
from integrations.slack.preview import preview_rule
from integrations.slack.rule_changes import delete_rule, save_rule
from mlconnector.api.v1.base import ApiView, ApiViewSet


class RuleSerializer(serializers.ModelSerializer):
    description = serializers.CharField(source="describe", read_only=True)

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "position",
            "enabled",
            "event_types",
            "comparison",
            "threshold",
            "currency",
            "counterparty",
            "exclude_categories",
            "channel_id",
            "channel_name",
            "description",
            "created_at",
            "updated_at",
        ]


class RuleInput(serializers.Serializer):
    """Documents the body; RoutingRuleForm validates it (as on the rules page)."""

    name = serializers.CharField(max_length=120)
    enabled = serializers.BooleanField(default=True)
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1)
    comparison = serializers.ChoiceField(
        choices=RoutingRule.Comparison.choices, allow_blank=True, required=False, help_text="Empty: any amount"
    )
    threshold = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_blank=True, max_length=3)
    counterparty = serializers.CharField(required=False, allow_blank=True, max_length=200)
    exclude_categories = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    channel = serializers.CharField(help_text="A channel id from GET /api/v1/slack/channels/")


# Body fields, as the rules page's form names them (channel: a channel id from /slack/channels/).
FORM_FIELDS = tuple(RuleInput().fields)


class PatchedRuleInput(RuleInput):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class PreviewRowSerializer(serializers.Serializer):
    event = serializers.IntegerField()
    event_type = serializers.CharField()
    event_label = serializers.CharField()
    received_at = serializers.DateTimeField()
    invoice_number = serializers.CharField(allow_blank=True, allow_null=True)
    counterparty = serializers.CharField(allow_blank=True, allow_null=True)
    amount = serializers.CharField(allow_null=True)
    currency = serializers.CharField(allow_blank=True)
    would_post = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True, help_text="The message's plain text, if it would post")


class PreviewSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="The rule in words")
    would_post = serializers.IntegerField(help_text="How many of the recent events it would post")
    events = PreviewRowSerializer(many=True)


class ChannelSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    is_private = serializers.BooleanField()
    is_member = serializers.BooleanField(required=False)


def _form_data(body, rule: RoutingRule | None) -> dict:
    """The form's fields from a JSON body, over the rule's current values for a partial update."""
    data = {}
    if rule is not None:
        data = {
            "name": rule.name,
            "enabled": rule.enabled,
            "event_types": rule.event_types,
            "comparison": rule.comparison,
            "threshold": rule.threshold,
            "currency": rule.currency,
            "counterparty": rule.counterparty,
            "exclude_categories": rule.exclude_categories,
            "channel": rule.channel_id,
        }
    else:
        data["enabled"] = True
    unknown = sorted(set(body) - set(FORM_FIELDS))
    if unknown:
        raise ValidationError({k: ["Not a field of a routing rule."] for k in unknown})
    data.update(body)
    if isinstance(data.get("exclude_categories"), list):
        data["exclude_categories"] = ", ".join(str(c) for c in data["exclude_categories"])
    for key in ("threshold",):
        if data.get(key) is not None and not isinstance(data[key], str):
            data[key] = str(data[key])
    for key in ("comparison", "currency", "counterparty", "exclude_categories"):
        if data.get(key) is None:
            data[key] = ""
    return data


def _preview(rule: RoutingRule) -> dict:
    rows = preview_rule(rule)
    return {
        "rule": rule.describe(),
        "would_post": sum(r.would_post for r in rows),
        "events": [
            {
                "event": r.event.pk,
                "event_type": r.event.event_type,
                "event_label": EVENT_LABELS.get(r.event.event_type, r.event.event_type),
                "received_at": r.event.received_at,
                "invoice_number": r.event.invoice_number,
                "counterparty": r.event.counterparty,
                "amount": str(r.event.amount) if r.event.amount is not None else None,
                "currency": r.event.currency,
                "would_post": r.would_post,
                "message": r.parts.get("text", "") if r.would_post else "",
            }
            for r in rows
        ],
    }


@extend_schema_view(
    list=extend_schema(summary="Slack routing rules, in order"),
    retrieve=extend_schema(summary="One routing rule"),
    destroy=extend_schema(summary="Delete a routing rule"),
)
class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, ApiViewSet):
    serializer_class = RuleSerializer
    pagination_class = None  # a tenant has a handful, read in their order

    def get_queryset(self):
        return RoutingRule.objects.for_tenant(self.tenant).order_by("position", "id")

    def viewer_may(self, request) -> bool:
        return self.action == "preview_candidate"  # posts nothing, saves nothing

    def _form(self, rule: RoutingRule | None) -> RoutingRuleForm:
        data = _form_data(self.body(), rule)
        conn = slack_connection_for(self.tenant)
        return self.valid(RoutingRuleForm(data, instance=rule, channels=known_channels(conn)))

    def _save(self, rule: RoutingRule | None, code: int) -> Response:
        form = self._form(rule)
        saved, resumed = save_rule(form, tenant=self.tenant, conn=slack_connection_for(self.tenant))
        return Response(RuleSerializer(saved).data, status=code)

    @extend_schema(summary="Create a routing rule (it goes last)", request=RuleInput, responses={201: RuleSerializer})
    def create(self, request, *args, **kwargs):
        return self._save(None, status.HTTP_201_CREATED)

    @extend_schema(summary="Replace a routing rule", request=RuleInput, responses=RuleSerializer)
    def update(self, request, *args, **kwargs):
        return self._save(self.get_object(), status.HTTP_200_OK)

    @extend_schema(summary="Change some fields of a routing rule", request=PatchedRuleInput, responses=RuleSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self._save(self.get_object(), status.HTTP_200_OK)

    def perform_destroy(self, rule):
        delete_rule(rule)

    @extend_schema(summary="Preview a rule on the tenant's last 50 events (posts nothing)", responses=PreviewSerializer)
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None, format=None):  # noqa: A002 - DRF passes the suffix as "format"
        return Response(_preview(self.get_object()))

    @extend_schema(
        summary="Preview a rule before saving it (saves and posts nothing)",
        request=RuleInput,
        responses=PreviewSerializer,
    )
    @action(detail=False, methods=["post"], url_path="preview")
    def preview_candidate(self, request, format=None):  # noqa: A002
        candidate = self._form(None).save(commit=False)
        candidate.tenant = self.tenant
        return Response(_preview(candidate))


class ChannelList(ApiView):
    pagination_class = None

    @extend_schema(summary="The Slack workspace's channels a rule can post to", responses=ChannelSerializer(many=True))
    def get(self, request, format=None):  # noqa: A002
        return Response(known_channels(slack_connection_for(self.tenant)))


router = SimpleRouter()
router.register("rules", RuleViewSet, basename="v1-slack-rule")

urlpatterns = [
    path("channels/", ChannelList.as_view(), name="v1-slack-channels"),
    *router.urls,
]
