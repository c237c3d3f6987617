"""/salesforce/: connecting an org, and a connection's settings."""

from django.urls import path

from integrations.salesforce import views

urlpatterns = [
    path("connect/", views.connect, name="salesforce-connect"),
    path("<int:pk>/settings/", views.settings_page, name="salesforce-settings"),
    path("<int:pk>/accounts/", views.accounts_page, name="salesforce-accounts"),
]
