"""Routes of the fake HubSpot, mounted at /sandbox/hubspot/ (see the package docstring)."""

from django.urls import path, re_path

from integrations.hubspot.sandbox import api, oauth, pages

urlpatterns = [
    path("", pages.home, name="sandbox-hubspot-home"),
    path("oauth/authorize", oauth.authorize, name="sandbox-hubspot-authorize"),
    path("console/<str:action>/", pages.console_action, name="sandbox-hubspot-console-action"),
    path("records/<str:object_type>/<str:object_id>/", pages.record, name="sandbox-hubspot-record"),
    re_path(r"^api/(?P<path>.+)$", api.api, name="sandbox-hubspot-api"),
]
