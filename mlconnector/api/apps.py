from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "mlconnector.api"
    label = "api"
    verbose_name = "REST API"

    def ready(self) -> None:
        from mlconnector.api.v1 import schema  # noqa: F401 - registers the token's security scheme
