"""The API tokens page."""

from django.urls import path

from mlconnector.api import token_views

urlpatterns = [
    path("", token_views.token_list, name="api-tokens"),
    path("<int:pk>/revoke/", token_views.token_revoke, name="api-token-revoke"),
]
