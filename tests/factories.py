"""factory-boy factories for the core models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from mlconnector.audit.models import AuditRecord
from mlconnector.connections.models import Connection
from mlconnector.pipeline.models import Delivery
from mlconnector.tenants.models import Membership, Tenant
from mlconnector.webhooks.models import InboundEvent


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Membership.Role.ADMIN


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connection

    tenant = factory.SubFactory(TenantFactory)
    provider = "freshbooks"
    name = factory.Sequence(lambda n: f"Business {n}")
    status = Connection.Status.ACTIVE
    credentials = factory.LazyFunction(
        lambda: {"access_token": "fb-access-token-test-1234", "refresh_token": "fb-refresh-token-test-5678"}
    )
    config = factory.Sequence(
        lambda n: {"account_id": f"ACC{n}", "business_uuid": f"uuid-{n}", "business_name": f"Business {n}"}
    )
    external_account_id = factory.LazyAttribute(lambda c: c.config.get("account_id", ""))


class InboundEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundEvent
        skip_postgeneration_save = True

    tenant = factory.LazyAttribute(lambda e: e.connection.tenant)
    connection = factory.SubFactory(ConnectionFactory)
    provider = "freshbooks"
    event_type = "invoice.create"
    object_id = factory.Sequence(lambda n: str(1000 + n))
    dedupe_key = factory.Sequence(lambda n: f"dedupe-{n}")
    status = InboundEvent.Status.PROCESSED
    invoice_number = factory.Sequence(lambda n: f"INV-{n:04d}")
    next_attempt_at = factory.LazyFunction(timezone.now)
    received_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def _indexed(obj, create, extracted, **kwargs):
        """Searchable like an event the pipeline processed (its text is encrypted: search.py)."""
        if create:
            from mlconnector.search import index_event

            index_event(obj)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    event = factory.SubFactory(InboundEventFactory)
    tenant = factory.LazyAttribute(lambda d: d.event.tenant)
    connection = factory.SubFactory(
        ConnectionFactory,
        tenant=factory.SelfAttribute("..tenant"),
        provider="testsink",
        credentials={"api_key": "sink-api-key-123456"},
        config={},
    )
    provider = factory.LazyAttribute(lambda d: d.connection.provider)
    event_type = factory.LazyAttribute(lambda d: d.event.event_type)
    status = Delivery.Status.FAILED
    next_attempt_at = factory.LazyFunction(timezone.now)


class AuditRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditRecord

    tenant = factory.SubFactory(TenantFactory)
    created_at = factory.LazyFunction(timezone.now)
    kind = AuditRecord.Kind.HTTP
    outcome = AuditRecord.Outcome.OK
    provider = "freshbooks"
    message = "GET invoice"
