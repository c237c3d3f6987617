from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "mlconnector.tenants"
    label = "tenants"
    verbose_name = "Tenants"
