"""HubSpot's own pages, mounted at /hubspot/: connect (sign-in or token), the schedule, and checking
invoice support now."""

from django.urls import path

from integrations.hubspot import views

urlpatterns = [
    path("connect/", views.connect, name="hubspot-connect"),
    path("<int:pk>/schedule/", views.schedule, name="hubspot-schedule"),
    path("<int:pk>/invoices/check/", views.check_invoices, name="hubspot-check-invoices"),
]
