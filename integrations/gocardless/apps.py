from mlconnector import contract


# Imported as a module (see integrations/freshbooks/apps.py): Django picks this one AppConfig.
class GoCardlessConfig(contract.IntegrationConfig):
    name = "integrations.gocardless"
    label = "gocardless"
    verbose_name = "GoCardless"
    integration = "integrations.gocardless.integration.GoCardless"

    def ready(self) -> None:
        super().ready()
        from integrations.gocardless import flags  # noqa: F401 - connects FreshBooks' payment signals
