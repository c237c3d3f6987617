"""The REST API app: personal API tokens, stored idempotent answers, /api/v1/ and the first /api/."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mlconnector.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from mlconnector.api.v1 import schema  # noqa: F401 - registers the token's security scheme
