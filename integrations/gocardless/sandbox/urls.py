"""Routes of the fake GoCardless, mounted at /sandbox/gocardless/ (see the package docstring)."""

from django.urls import path, re_path

from integrations.gocardless.sandbox import api, oauth, pages

urlpatterns = [
    path("", pages.console, name="sandbox-gocardless-home"),
    path("console/<str:key>/<str:action>/", pages.console_action, name="sandbox-gocardless-action"),
    path("flow/<str:flow_id>/", pages.flow, name="sandbox-gocardless-flow"),
    path("connect/oauth/authorize", oauth.authorize, name="sandbox-gocardless-authorize"),
    path("connect/oauth/access_token", oauth.access_token, name="sandbox-gocardless-token"),
    re_path(r"^(?P<environment>sandbox|live)/(?P<path>.*)$", api.endpoint, name="sandbox-gocardless-api"),
]
