from django.urls import path

from tests.testcc.sandbox import ping, token

urlpatterns = [path("oauth2/token", token), path("ping", ping)]
