from mlconnector import contract


# Imported as a module, not `from ... import IntegrationConfig`: Django picks an app's config
# automatically only when apps.py defines exactly one AppConfig subclass.
class FreshBooksConfig(contract.IntegrationConfig):
    name = "integrations.freshbooks"
    label = "freshbooks"
    verbose_name = "FreshBooks"
    integration = "integrations.freshbooks.integration.FreshBooks"

    def ready(self) -> None:
        super().ready()
        from integrations.freshbooks import callbacks  # noqa: F401 - connects the activation signal
