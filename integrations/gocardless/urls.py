"""/gocardless/: connect, settings and webhooks, payments, the "needs a mandate" list, the report."""

from django.urls import path

from integrations.gocardless import views

urlpatterns = [
    path("connect/", views.connect, name="gocardless-connect"),
    path("<int:pk>/", views.settings_page, name="gocardless-settings"),
    path("<int:pk>/payments/", views.payments, name="gocardless-payments"),
    path("<int:pk>/mandates/", views.mandates, name="gocardless-mandates"),
    path("<int:pk>/mandates/<int:request_id>/link/", views.mandate_link, name="gocardless-mandate-link"),
    path("<int:pk>/reconciliation/", views.report, name="gocardless-report"),
    path("<int:pk>/reconciliation.csv", views.report_csv, name="gocardless-report-csv"),
]
