"""The audit browser's URLs (the Django admin keeps its own audit pages for power users)."""

from django.urls import path

from mlconnector.audit import views

urlpatterns = [
    path("", views.event_list, name="audit-events"),
    path("events/<int:pk>/", views.event_detail, name="audit-event"),
    path("deliveries/<int:pk>/replay/", views.replay_delivery, name="audit-replay-delivery"),
    path("replay-failed/", views.replay_failed, name="audit-replay-failed"),
]
