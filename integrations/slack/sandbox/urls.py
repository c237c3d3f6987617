"""Routes of the fake Slack, mounted at /sandbox/slack/ (see the package docstring)."""

from django.urls import path, re_path

from integrations.slack.sandbox import api, pages

urlpatterns = [
    path("", pages.home, name="sandbox-slack-home"),
    path("channels/<str:channel_id>/", pages.channel, name="sandbox-slack-channel"),
    path("actions/", pages.action, name="sandbox-slack-action"),
    re_path(r"^oauth/v2/authorize/?$", pages.authorize, name="sandbox-slack-authorize"),
    re_path(r"^api/(?P<method>[A-Za-z0-9_.]+)/?$", api.web_api, name="sandbox-slack-api"),
]
