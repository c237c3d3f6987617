"""The integration contract and its registry.

An integration is one class bound to one Connection. It declares the event types it produces (as
a source) and consumes (as a target); consuming is a dispatch table keyed by the source provider and
its event type, so GoCardless's `payments.confirmed` and a FreshBooks event can never be confused.
A target may take its deliveries in batches (`batch_size`, `sync_batch`: one result per delivery),
and may declare periodic jobs that run per connection (`jobs`: polling backstops, daily reports).
Registration is explicit: an app in INSTALLED_APPS whose AppConfig subclasses IntegrationConfig.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar

from django.apps import AppConfig
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from mlconnector.connections.models import Connection
    from mlconnector.http import ApiClient, AuditContext


# --- what the receiver hands an integration --------------------------------------------------


@dataclass(frozen=True)
class WebhookRequest:
    body: bytes
    headers: Mapping[str, str]  # lower-cased names
    content_type: str = ""
    method: str = "POST"


@dataclass
class Endpoint:
    """What the ack path knows about the connection behind a webhook URL (cached briefly)."""

    connection_id: int
    tenant_id: int
    provider: str
    status: str
    # Verification material, decrypted (e.g. FreshBooks callback verifiers). Never logged.
    secrets: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedEvent:
    event_type: str
    object_id: str
    account_id: str = ""
    dedupe_key: str = ""
    # The non-secret wire fields, kept (redacted) for the audit trail.
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class HandshakeResponse:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class WebhookError(Exception):
    status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class MalformedWebhook(WebhookError):
    status = 400


class BadSignature(WebhookError):
    status = 401


# --- what enrichment and sync exchange --------------------------------------------------------


@dataclass
class Enriched:
    """A source record fetched in full, with the fields the audit trail and routing need."""

    record_type: str
    record: dict[str, Any] | None
    version: str
    # The provider's modification time as a sortable string, so an older fetch never wins.
    updated: str = ""
    invoice_number: str = ""
    counterparty: str = ""
    amount: Decimal | None = None
    currency: str = ""


@dataclass
class SyncResult:
    remote_id: str = ""
    message: str = ""
    # True when nothing had to be written because the target already had it.
    noop: bool = False
    # True when nothing was addressed to this target at all (no routing rule matches, no board is
    # chosen): a distinct outcome, "Nothing to send", counted apart from deliveries.
    nothing_to_send: bool = False


@dataclass(frozen=True)
class Job:
    """A periodic job of one connection: `method(audit) -> str` on the integration, run every
    `every` seconds by default (each connection holds its own interval; see pipeline/jobs.py)."""

    method: str
    every: float
    label: str = ""


@dataclass
class PulledPage:
    """One page of a source's records of one type (a backfill reads them in order)."""

    records: list[dict[str, Any]]
    number: int
    pages: int
    total: int


@dataclass
class PulledRecord:
    record_type: str
    object_id: str
    record: dict[str, Any]


class Integration(ABC):
    provider: ClassVar[str] = ""
    label: ClassVar[str] = ""
    auth_kind: ClassVar[str] = "oauth2"  # "oauth2" or "token"
    # Offered on the home page to connect (test-only integrations are not).
    listed: ClassVar[bool] = True
    # The module holding this provider's OAuth onboarding: `spec() -> OAuthSpec` and
    # `complete_oauth(request, *, tenant, token, reconnect)`. Empty: it connects another way (a token form).
    oauth_module: ClassVar[str] = ""
    # The URL name of the integration's own connect form (taking ?connection=<pk> to reconnect), for
    # providers that connect neither by OAuth nor by a pasted token (Salesforce's key, secret and My Domain).
    connect_view: ClassVar[str] = ""
    # The module of this integration's own pages, mounted at /<provider>/ (empty: it has none).
    urlconf: ClassVar[str] = ""
    # The module of this integration's REST API routes (`urlpatterns`, built on mlconnector.api.v1's
    # views), mounted at /api/v1/<provider>/ with format suffixes (empty: it adds none).
    api_urlconf: ClassVar[str] = ""
    # A template included on the connection page under "Setup and changes" (context: conn).
    setup_template: ClassVar[str] = ""
    produces: ClassVar[frozenset[str]] = frozenset()
    # source provider -> {event type -> name of the method that writes it to this provider}
    sync_handlers: ClassVar[Mapping[str, Mapping[str, str]]] = {}
    # Deliveries of one connection handed to sync_batch() at once (1: one at a time, through sync()).
    batch_size: ClassVar[int] = 1
    # name -> Job: periodic work per connection (created when a connection is active).
    jobs: ClassVar[Mapping[str, Job]] = {}
    # A target that can be backfilled: the source it reads and its record types, in the order
    # they must arrive (clients before the invoices that need them).
    backfill_source: ClassVar[str] = "freshbooks"
    backfill_types: ClassVar[tuple[str, ...]] = ()

    def __init__(self, connection: Connection):
        self.connection = connection

    @classmethod
    def consumes(cls) -> frozenset[tuple[str, str]]:
        """(source provider, event type) pairs this integration writes to its provider."""
        return frozenset((source, event) for source, handlers in cls.sync_handlers.items() for event in handlers)

    @classmethod
    def consumes_from(cls, source: str) -> frozenset[str]:
        return frozenset(cls.sync_handlers.get(source, {}))

    # Event types this source names in words of its own ("invoice.sendByEmail": "Invoice emailed").
    event_labels: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def event_label(cls, event_type: str) -> str:
        """An event type in words: "invoice.create" -> "Invoice created"."""
        return cls.event_labels.get(event_type) or describe_event_type(event_type)

    @classmethod
    def handler_for(cls, source: str, event_type: str) -> str | None:
        return cls.sync_handlers.get(source, {}).get(event_type)

    @classmethod
    def interval_for(cls, job: str) -> float:
        """The default interval of a job (a connection may hold its own)."""
        return cls.jobs[job].every

    @abstractmethod
    def client(self, audit: AuditContext | None = None) -> ApiClient:
        """The provider's ApiClient, bound to this connection."""

    # Health ---------------------------------------------------------------------------------
    @abstractmethod
    def check(self, audit: AuditContext | None = None) -> str:
        """A cheap authenticated call; returns a human sentence, raises ProviderError."""

    # Onboarding ----------------------------------------------------------------------------------
    @classmethod
    def oauth_spec(cls):
        return import_module(cls.oauth_module).spec()

    @classmethod
    def complete_oauth(cls, request, *, tenant, token, reconnect):
        return import_module(cls.oauth_module).complete_oauth(request, tenant=tenant, token=token, reconnect=reconnect)

    @classmethod
    def pages(cls, connection: Connection) -> list[tuple[str, str]]:
        """The integration's own settings pages for this connection, as (label, url): the home
        page and the connection page link to them (Slack's routing rules, Monday's board maps)."""
        return []

    def describe(self, record_type: str) -> list[dict[str, Any]]:
        """Fields (or live columns) of a record type, for mapping editors."""
        return []

    # Receiving (class methods: the ack path works without loading the connection row) --------
    @classmethod
    def endpoint_secrets(cls, connection: Connection) -> dict[str, Any]:
        return {}

    @classmethod
    def handshake(cls, endpoint: Endpoint, request: WebhookRequest) -> HandshakeResponse | None:
        return None

    @classmethod
    def verify_webhook(cls, endpoint: Endpoint, request: WebhookRequest) -> list[ParsedEvent]:
        """Parse and verify; raise MalformedWebhook or BadSignature. Fail closed."""
        raise BadSignature(f"{cls.provider} does not accept webhooks")

    def enrich(self, event_type: str, object_id: str, audit: AuditContext) -> Enriched:
        """Fetch the full record behind an event (sources only)."""
        from mlconnector.http import Rejected

        raise Rejected(f"{self.provider} is not an event source")

    def enrich_record(self, record_type: str, record: dict[str, Any]) -> Enriched:
        """Describe a record already in hand (sources only)."""
        from mlconnector.http import Rejected

        raise Rejected(f"{self.provider} is not an event source")

    def pull(self, since, audit: AuditContext) -> Iterable[PulledRecord]:
        return []

    def pull_page(self, record_type: str, page: int, per_page: int, audit: AuditContext) -> PulledPage:
        """One page of every record of a type, oldest first where the source allows (sources only)."""
        from mlconnector.http import Rejected

        raise Rejected(f"{self.provider} cannot be read page by page")

    # Sending -----------------------------------------------------------------------------------
    def deliver_at(self, connection: Connection, now):
        """When a new delivery to this connection becomes due: now, unless the connection sends on a
        schedule of its own (e.g. a digest every few hours)."""
        return now

    def remote_links(self, delivery) -> list[tuple[str, str]]:
        """What a delivery wrote, as a person finds it in this provider: (words, link or "") pairs,
        e.g. [("#exec-alerts", <permalink>)]. The default shows the raw remote id."""
        return [(delivery.remote_id, "")] if delivery.remote_id else []

    def prepare_replay(self, delivery, *, resend: bool) -> None:
        """A person asked to replay this delivery: reset whatever per-delivery state the sync keeps
        (e.g. Slack's failed posts) so the next attempt tries again. Never undo a success unless
        `resend` is set."""
        return None

    def sync(self, event, delivery, audit: AuditContext) -> SyncResult:
        handler_name = self.handler_for(event.provider, event.event_type)
        if handler_name is None:
            from mlconnector.http import Rejected

            raise Rejected(f"{self.provider} does not consume {event.provider} {event.event_type}")
        return getattr(self, handler_name)(event, delivery, audit)

    def sync_batch(self, deliveries: list, audit: AuditContext) -> dict[int, SyncResult | Exception]:
        """Write several deliveries of this connection at once; one result per delivery id, each a
        SyncResult or the ProviderError that delivery met (a multi-status: each item succeeds,
        retries or fails on its own). An error raised from here applies to every delivery.

        `audit` carries no delivery: calls that serve the whole batch are recorded once. The
        default writes them one at a time through sync(), each with its own audit context."""
        from mlconnector.http import ProviderError

        results: dict[int, SyncResult | Exception] = {}
        stop: ProviderError | None = None
        for delivery in deliveries:
            if stop is not None:  # the connection needs reconnecting: the rest would fail the same way
                results[delivery.pk] = stop
                continue
            try:
                results[delivery.pk] = self.sync(delivery.event, delivery, audit.for_delivery(delivery))
            except ProviderError as exc:
                results[delivery.pk] = exc
                stop = exc if exc.needs_reconnect else None
        return results


_ACTIONS = {"create": "created", "update": "updated", "delete": "deleted"}


def describe_event_type(event_type: str) -> str:
    """The generic words for "<record>.<action>": "bill_vendor.update" -> "Bill vendor updated",
    "payments.confirmed" -> "Payment confirmed"."""
    record, _, action = event_type.partition(".")
    noun = record.replace("_", " ")
    if noun.endswith("s") and not noun.endswith("ss"):
        noun = noun[:-1]
    verb = _ACTIONS.get(action, action.replace("_", " "))
    return f"{noun} {verb}".strip().capitalize()


class UnknownProvider(LookupError):
    pass


class Registry:
    def __init__(self) -> None:
        self._by_provider: dict[str, type[Integration]] = {}

    def register(self, integration: type[Integration]) -> None:
        if not integration.provider:
            raise ValueError(f"{integration!r} has no provider name")
        existing = self._by_provider.get(integration.provider)
        if existing is not None and existing is not integration:
            raise ValueError(f"provider {integration.provider!r} registered twice")
        self._by_provider[integration.provider] = integration

    def get(self, provider: str) -> type[Integration]:
        try:
            return self._by_provider[provider]
        except KeyError:
            raise UnknownProvider(provider) from None

    def providers(self) -> list[str]:
        return sorted(self._by_provider)

    def all(self) -> list[type[Integration]]:
        return [self._by_provider[p] for p in self.providers()]

    def choices(self) -> list[tuple[str, str]]:
        return [(p, self._by_provider[p].label or p) for p in self.providers()]


registry = Registry()


class IntegrationConfig(AppConfig):
    """AppConfig for an integration app: names the Integration class to register.

    In the app's apps.py, subclass it as `contract.IntegrationConfig` (import the module, not the
    class), so Django still finds exactly one AppConfig there and uses it.
    """

    integration: str = ""

    def ready(self) -> None:
        registry.register(import_string(self.integration))
