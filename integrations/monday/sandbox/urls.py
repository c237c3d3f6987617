"""Routes of the fake Monday.com, mounted at /sandbox/monday/ (see the package docstring)."""

from django.urls import path, re_path

from integrations.monday.sandbox import endpoint, oauth, pages

urlpatterns = [
    path("", pages.home, name="sandbox-monday-home"),
    path("boards/<str:board_id>/", pages.board_page, name="sandbox-monday-board"),
    path(
        "boards/<str:board_id>/columns/<str:column_id>/<str:action>/",
        pages.column_action,
        name="sandbox-monday-column",
    ),
    path("boards/<str:board_id>/status/", pages.set_status, name="sandbox-monday-status"),
    path("console/<str:action>/", pages.console_action, name="sandbox-monday-console-action"),
    re_path(r"^v2/?$", endpoint.api, name="sandbox-monday-api"),
    re_path(r"^auth/oauth2/authorize/?$", oauth.authorize, name="sandbox-monday-authorize"),
    re_path(r"^auth/oauth2/token/?$", oauth.token, name="sandbox-monday-token"),
]
