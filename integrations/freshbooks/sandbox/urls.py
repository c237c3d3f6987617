"""Routes of the fake FreshBooks, mounted at /sandbox/freshbooks/ (see the package docstring)."""

from django.urls import path, re_path

from integrations.freshbooks.sandbox import api, pages

_ACCOUNT = r"(?P<account_id>[A-Za-z0-9_-]+)"
urlpatterns = [
    path("", pages.console, name="sandbox-freshbooks-home"),
    path("console/<str:account_id>/<str:action>/", pages.console_action, name="sandbox-freshbooks-console-action"),
    re_path(r"^auth/oauth/authorize/?$", pages.authorize, name="sandbox-freshbooks-authorize"),
    re_path(r"^api/auth/oauth/token/?$", api.token, name="sandbox-freshbooks-token"),
    re_path(r"^api/auth/api/v1/users/me/?$", api.me, name="sandbox-freshbooks-me"),
    re_path(
        rf"^api/accounting/account/{_ACCOUNT}/(?P<resource>[a-z_]+/[a-z_]+)(?:/(?P<object_id>[^/]+))?/?$",
        api.accounting,
        name="sandbox-freshbooks-accounting",
    ),
    re_path(
        rf"^api/events/account/{_ACCOUNT}/events/callbacks(?:/(?P<callback_id>[^/]+))?/?$",
        api.callbacks,
        name="sandbox-freshbooks-callbacks",
    ),
]
