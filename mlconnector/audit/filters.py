"""The audit browser's filter: one form that turns a query string into event and delivery querysets.

The same filter drives the list, its keyset pagination and "replay all failed deliveries matching
this filter", so what the confirmation page counts is exactly what the replay touches.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from mlconnector import search
from mlconnector.contract import registry
from mlconnector.pipeline.models import Delivery
from mlconnector.webhooks.models import InboundEvent

FILTER_FIELDS = ["q", "provider", "event_type", "status", "delivery", "since", "until", "connection"]


def _event_types() -> dict[str, set[str]]:
    """Event types by source provider: what each source produces and what targets consume from it."""
    by_source: dict[str, set[str]] = {}
    for cls in registry.all():
        if cls.produces:
            by_source.setdefault(cls.provider, set()).update(cls.produces)
        for source, event_type in cls.consumes():
            by_source.setdefault(source, set()).add(event_type)
    return by_source


def _event_type_choices() -> list:
    """Grouped by source ("FreshBooks": invoice.create, ...); values are "<source>:<type>", so the
    same name from two providers can never be confused."""
    labels = dict(registry.choices())
    return [
        (labels.get(source, source), [(f"{source}:{t}", t) for t in sorted(types)])
        for source, types in sorted(_event_types().items())
    ]


def _qualified(value: str, provider: str = "") -> str:
    """An unqualified type (an old link: event_type=invoice.create) names its source: the provider
    filtered on, if it has that type, or the one source that has it."""
    if not value or ":" in value:
        return value
    sources = [source for source, types in _event_types().items() if value in types]
    if provider in sources:
        return f"{provider}:{value}"
    return f"{sources[0]}:{value}" if len(sources) == 1 else value


class EventFilter(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        help_text="Invoice number, client name (whole words, or how they start) or FreshBooks object id",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "e.g. 0000042 or Northwind"}),
    )
    provider = forms.ChoiceField(label="Provider", required=False)
    event_type = forms.ChoiceField(label="Event type", required=False)
    status = forms.ChoiceField(
        label="Event status", required=False, choices=[("", "Any"), *InboundEvent.Status.choices]
    )
    delivery = forms.ChoiceField(
        label="Delivery status", required=False, choices=[("", "Any"), *Delivery.Status.choices]
    )
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # Set by a connection page's "Replay failed": only deliveries to that connection.
    connection = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, data=None, **kwargs):
        if data is not None and data.get("event_type"):
            data = data.copy()
            data["event_type"] = _qualified(data["event_type"], data.get("provider") or "")
        super().__init__(data, **kwargs)
        self.fields["provider"].choices = [("", "Any"), *registry.choices()]
        self.fields["event_type"].choices = [("", "Any"), *_event_type_choices()]
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}_help"

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data

    @property
    def values(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    def querystring(self, **extra) -> str:
        params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.values.items()}
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return urlencode(params)

    # --- querysets ---------------------------------------------------------------------------

    def _delivery_filter(self) -> Q:
        """Delivery-level criteria other than the provider: its status and its target connection."""
        v = self.values
        q = Q()
        if v.get("delivery"):
            q &= Q(status=v["delivery"])
        if v.get("connection"):
            q &= Q(connection_id=v["connection"])
        return q

    def events(self, tenant) -> QuerySet[InboundEvent]:
        v = self.values
        qs = InboundEvent.objects.for_tenant(tenant)
        if v.get("event_type"):
            source, _, event_type = v["event_type"].partition(":")
            qs = qs.filter(provider=source, event_type=event_type)
        if v.get("status"):
            # The status people see summarises deliveries (audit/outcomes.py): "failed" also finds a
            # processed event whose delivery failed, "waiting" one whose delivery waits.
            status = v["status"]
            if status in (InboundEvent.Status.FAILED, InboundEvent.Status.WAITING):
                via = Delivery.Status.FAILED if status == InboundEvent.Status.FAILED else Delivery.Status.WAITING
                qs = qs.filter(Q(status=status) | Exists(Delivery.objects.filter(event=OuterRef("pk"), status=via)))
            else:
                qs = qs.filter(status=status)
        if v.get("since"):
            qs = qs.filter(received_at__gte=_start_of(v["since"]))
        if v.get("until"):
            qs = qs.filter(received_at__lt=_start_of(v["until"] + timedelta(days=1)))
        if v.get("q"):
            # Invoice numbers and client names are encrypted: words are matched through the blind
            # index (mlconnector/search.py); an object id is a plain identifier, matched exactly.
            text = v["q"].strip().lstrip("#")
            qs = search.matching(qs, text, _tenant_id(tenant)) | qs.filter(object_id=text)
        # The provider is the event's source, or a target it was delivered to; with delivery
        # criteria, they apply to the deliveries to that target (or to any delivery of its events).
        dq, provider = self._delivery_filter(), v.get("provider")

        def deliveries(q: Q):
            return Exists(Delivery.objects.filter(q, event=OuterRef("pk")))

        if dq and provider:
            qs = qs.filter((Q(provider=provider) & deliveries(dq)) | deliveries(dq & Q(provider=provider)))
        elif dq:
            qs = qs.filter(deliveries(dq))
        elif provider:
            qs = qs.filter(Q(provider=provider) | deliveries(Q(provider=provider)))
        return qs

    def deliveries(self, tenant) -> QuerySet[Delivery]:
        """The deliveries of the matching events (the API's delivery list): with the delivery status,
        provider (the target, or its events' source) and connection applied to the delivery itself."""
        v = self.values
        qs = Delivery.objects.for_tenant(tenant)
        if v.get("delivery"):
            qs = qs.filter(status=v["delivery"])
        if v.get("connection"):
            qs = qs.filter(connection_id=v["connection"])
        if v.get("provider"):
            qs = qs.filter(Q(provider=v["provider"]) | Q(event__provider=v["provider"]))
        if {"q", "event_type", "status", "since", "until"} & set(v):
            qs = qs.filter(event__in=self.events(tenant).values("pk"))
        return qs

    def failed_deliveries(self, tenant) -> QuerySet[Delivery]:
        """The failed deliveries of the matching events: to the chosen provider (or of its events) and
        connection, if any. Only the criteria that narrow events further cost a subquery."""
        v = self.values
        qs = Delivery.objects.for_tenant(tenant).filter(status=Delivery.Status.FAILED)
        if v.get("connection"):
            qs = qs.filter(connection_id=v["connection"])
        if v.get("provider"):
            qs = qs.filter(Q(provider=v["provider"]) | Q(event__provider=v["provider"]))
        event_level = {"q", "event_type", "status", "since", "until"} & set(v)
        if event_level or v.get("delivery", Delivery.Status.FAILED) != Delivery.Status.FAILED:
            qs = qs.filter(event__in=self.events(tenant).values("pk"))
        return qs


def _tenant_id(tenant) -> int:
    return tenant.pk if hasattr(tenant, "pk") else int(tenant)


def _start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


# --- keyset pagination over (-received_at, -id) -------------------------------------------------


def encode_cursor(event: InboundEvent) -> str:
    return f"{event.received_at.isoformat()}~{event.pk}"


def decode_cursor(value: str) -> tuple[datetime, int] | None:
    try:
        when, pk = value.rsplit("~", 1)
        parsed = datetime.fromisoformat(when)
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=UTC)
        return parsed, int(pk)
    except (ValueError, TypeError):
        return None


def page(qs: QuerySet[InboundEvent], after: str = "", size: int = 50) -> tuple[list[InboundEvent], str]:
    """One page of events newest first, starting after the cursor; returns (rows, next cursor or "")."""
    cursor = decode_cursor(after) if after else None
    if cursor is not None:
        when, pk = cursor
        qs = qs.filter(Q(received_at__lt=when) | Q(received_at=when, id__lt=pk))
    # The encrypted columns are not needed in a list, and decrypting them is most of the cost.
    rows = list(
        qs.defer("raw_body", "payload", "headers")
        .select_related("connection")
        .order_by("-received_at", "-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return rows, (encode_cursor(rows[-1]) if more and rows else "")
