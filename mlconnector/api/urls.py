"""The first API's routes (/api/): deprecated by /api/v1/, kept answering as they did."""

from rest_framework.routers import DefaultRouter

from mlconnector.api import views

router = DefaultRouter()
router.register("connections", views.ConnectionViewSet, basename="api-connection")
router.register("events", views.EventViewSet, basename="api-event")
router.register("deliveries", views.DeliveryViewSet, basename="api-delivery")
router.register("audit", views.AuditViewSet, basename="api-audit")
urlpatterns = router.urls
