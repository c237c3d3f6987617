from django.urls import path

from mlconnector.connections import token_views, views, work_views

urlpatterns = [
    path("", views.home, name="home"),
    path("tenants/switch/", views.switch_tenant_view, name="switch-tenant"),
    path("connections/<slug:provider>/connect/", views.connect, name="connection-connect"),
    path("connections/<slug:provider>/callback/", views.oauth_callback, name="connection-callback"),
    path("connections/<slug:provider>/token/", token_views.connect_with_token, name="connection-token"),
    path("connections/<int:pk>/", views.detail, name="connection-detail"),
    path("connections/<int:pk>/choose/", views.choose, name="connection-choose"),
    path("connections/<int:pk>/test/", views.test_connection, name="connection-test"),
    path("connections/<int:pk>/status/", views.change_status, name="connection-status"),
    path("connections/<int:pk>/backfill/", work_views.start_backfill, name="connection-backfill"),
    path(
        "connections/<int:pk>/backfill/<int:backfill_pk>/cancel/",
        work_views.cancel_backfill,
        name="connection-backfill-cancel",
    ),
    path("connections/<int:pk>/jobs/<int:job_pk>/", work_views.job_interval, name="connection-job-interval"),
]
