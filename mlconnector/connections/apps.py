from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "mlconnector.connections"
    label = "connections"
    verbose_name = "Connections"
