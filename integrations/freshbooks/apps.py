from mlconnector.contract import IntegrationConfig


class FreshBooksConfig(IntegrationConfig):
    name = "integrations.freshbooks"
    label = "freshbooks"
    verbose_name = "FreshBooks"
    integration = "integrations.freshbooks.integration.FreshBooks"

    def ready(self) -> None:
        super().ready()
        from integrations.freshbooks import callbacks  # noqa: F401 - connects the activation signal
