"""What /api/v1/ answers with (and the bodies it takes), field by field, for the schema too."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from mlconnector.api.views import ModelSerializer
from mlconnector.audit import outcomes
from mlconnector.audit.filters import EventFilter
from mlconnector.audit.models import AuditRecord
from mlconnector.connections.health import health
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Backfill, Delivery
from mlconnector.tenants.models import Invitation, Membership
from mlconnector.webhooks.models import InboundEvent


class OutcomeSerializer(serializers.Serializer):
    tone = serializers.ChoiceField(choices=["ok", "warn", "error", "info", "muted"])
    text = serializers.CharField()


class LinkSerializer(serializers.Serializer):
    text = serializers.CharField()
    url = serializers.CharField(allow_blank=True)


class HealthSerializer(serializers.Serializer):
    tone = serializers.CharField()
    headline = serializers.CharField(allow_blank=True)
    detail = serializers.CharField(allow_blank=True)
    waiting = serializers.IntegerField()
    failed = serializers.IntegerField()
    fix = serializers.CharField(allow_blank=True, help_text="reconnect, resume, choose, replay_failed or empty")


class ConnectionSerializer(ModelSerializer):
    provider_label = serializers.CharField(source="get_provider_label", read_only=True)
    health = serializers.SerializerMethodField()

    class Meta:
        model = Connection
        fields = [
            "id",
            "provider",
            "provider_label",
            "name",
            "status",
            "external_account_id",
            "health",
            "last_success_at",
            "last_error",
            "last_error_at",
            "status_changed_at",
            "created_at",
        ]

    @extend_schema_field(HealthSerializer)
    def get_health(self, conn: Connection) -> dict:
        h = health(conn)
        return {
            "tone": h.tone,
            "headline": h.headline,
            "detail": h.detail,
            "waiting": h.waiting_total,
            "failed": h.failed,
            "fix": h.fix,
        }


class ActionResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()
    connection = ConnectionSerializer()


class EventSerializer(ModelSerializer):
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = InboundEvent
        fields = [
            "id",
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
            "outcome",
            "received_at",
            "processed_at",
        ]

    @extend_schema_field(OutcomeSerializer)
    def get_outcome(self, event: InboundEvent) -> dict:
        outcome = getattr(event, "outcome", None)
        if outcome is None:
            outcome = outcomes.of_event(event, list(event.deliveries.select_related("connection")))
        return {"tone": outcome.tone, "text": outcome.text}


class DeliverySerializer(ModelSerializer):
    links = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "connection",
            "provider",
            "event_type",
            "status",
            "attempts",
            "replays",
            "next_attempt_at",
            "remote_id",
            "links",
            "last_error",
            "created_at",
            "succeeded_at",
        ]

    @extend_schema_field(LinkSerializer(many=True))
    def get_links(self, delivery: Delivery) -> list[dict]:
        return [{"text": text, "url": url} for text, url in outcomes.links_of(delivery)]


class TimelineEntrySerializer(ModelSerializer):
    step = serializers.CharField(read_only=True)
    delivery = serializers.IntegerField(source="delivery_id", allow_null=True, read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "created_at",
            "step",
            "kind",
            "outcome",
            "provider",
            "delivery",
            "method",
            "status_code",
            "duration_ms",
            "remote_id",
            "message",
            "actor",
        ]

    def get_actor(self, record: AuditRecord) -> str:
        return record.actor.get_username() if record.actor_id else ""


class EventDetailSerializer(EventSerializer):
    deliveries = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    payload = serializers.SerializerMethodField()

    class Meta(EventSerializer.Meta):
        fields = [*EventSerializer.Meta.fields, "deliveries", "timeline", "payload"]

    @extend_schema_field(DeliverySerializer(many=True))
    def get_deliveries(self, event) -> list:
        return DeliverySerializer(self.context["deliveries"], many=True).data

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, event) -> list:
        return TimelineEntrySerializer(self.context["timeline"], many=True).data

    @extend_schema_field(serializers.JSONField(allow_null=True, help_text="Redacted; for admins only, else null."))
    def get_payload(self, event):
        return self.context.get("payload")


class DeliveryDetailSerializer(DeliverySerializer):
    timeline = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "timeline"]

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, delivery) -> list:
        return TimelineEntrySerializer(self.context["timeline"], many=True).data


class ReplayOneSerializer(serializers.Serializer):
    resend = serializers.BooleanField(
        default=False, help_text="Send again even if it was delivered (money is never moved twice)."
    )


class ReplayResultSerializer(serializers.Serializer):
    queued = serializers.ListField(child=serializers.IntegerField())
    skipped = serializers.ListField(child=serializers.IntegerField())
    summary = serializers.CharField()


def _filter_fields() -> dict:
    """The audit browser's filter (mlconnector/audit/filters.py), as body fields of a bulk replay."""
    return {
        "q": serializers.CharField(required=False, allow_blank=True, help_text=EventFilter.base_fields["q"].help_text),
        "provider": serializers.CharField(required=False, allow_blank=True),
        "event_type": serializers.CharField(
            required=False, allow_blank=True, help_text="e.g. freshbooks:invoice.create"
        ),
        "status": serializers.CharField(required=False, allow_blank=True, help_text="The event's status"),
        "delivery": serializers.CharField(required=False, allow_blank=True, help_text="The delivery's status"),
        "since": serializers.DateField(required=False, allow_null=True),
        "until": serializers.DateField(required=False, allow_null=True),
        "connection": serializers.IntegerField(required=False, allow_null=True, min_value=1),
    }


class BulkReplaySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=False, help_text="Count what would be replayed; change nothing.")
    expected_count = serializers.IntegerField(
        required=False, min_value=0, help_text="Refuse (409) unless exactly this many match: the dry run's count."
    )

    def get_fields(self):
        return {**_filter_fields(), **super().get_fields()}


class BulkReplayResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    count = serializers.IntegerField(help_text="Failed deliveries matching the filter.")
    by_provider = serializers.DictField(child=serializers.IntegerField())
    queued = serializers.ListField(child=serializers.IntegerField(), required=False)
    skipped = serializers.ListField(child=serializers.IntegerField(), required=False)
    summary = serializers.CharField()


class BackfillStartSerializer(serializers.Serializer):
    record_types = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Only these record types (default: all it takes)."
    )


class BackfillProgressSerializer(serializers.Serializer):
    status = serializers.CharField()
    total = serializers.IntegerField()
    listed = serializers.IntegerField()
    done = serializers.IntegerField()
    delivered = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    waiting = serializers.IntegerField()
    percent = serializers.IntegerField()
    per_second = serializers.FloatField()
    seconds_left = serializers.IntegerField(allow_null=True)
    finished = serializers.BooleanField()


class BackfillSerializer(ModelSerializer):
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Backfill
        fields = [
            "id",
            "source",
            "target",
            "record_types",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        ]

    @extend_schema_field(BackfillProgressSerializer)
    def get_progress(self, backfill: Backfill) -> dict:
        from mlconnector.pipeline.backfill import progress

        return progress(backfill)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "email", "role", "joined_at"]


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "invited_by", "created_at", "expires_at"]

    def get_invited_by(self, invitation: Invitation) -> str:
        return invitation.invited_by.get_username() if invitation.invited_by_id else ""


class InviteSerializer(serializers.Serializer):
    """The team page's invite form (mlconnector/tenants/forms.py validates it)."""

    email = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices, default=Membership.Role.VIEWER)
