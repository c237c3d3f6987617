from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "mlconnector.webhooks"
    label = "webhooks"
    verbose_name = "Inbound events"
