"""/api/v1/: the core's routes, each integration's (Integration.api_urlconf, at /api/v1/<provider>/),
the OpenAPI schema and its docs page. Every route also answers with a format suffix (.json)."""

from importlib import import_module

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter
from rest_framework.urlpatterns import format_suffix_patterns

from mlconnector.api.v1 import views
from mlconnector.contract import registry

router = DefaultRouter()
router.register("connections", views.ConnectionViewSet, basename="v1-connection")
router.register("backfills", views.BackfillViewSet, basename="v1-backfill")
router.register("events", views.EventViewSet, basename="v1-event")
router.register("deliveries", views.DeliveryViewSet, basename="v1-delivery")
router.register("members", views.MemberViewSet, basename="v1-member")
router.register("invitations", views.InvitationViewSet, basename="v1-invitation")


def _integration_routes():
    for integration in registry.all():
        if integration.api_urlconf:
            patterns = import_module(integration.api_urlconf).urlpatterns
            yield path(f"{integration.provider}/", include(format_suffix_patterns(patterns)))


urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="v1-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="v1-schema"), name="v1-docs"),
    *_integration_routes(),
    *router.urls,
]
