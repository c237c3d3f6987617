from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "mlconnector.audit"
    label = "audit"
    verbose_name = "Audit trail"
