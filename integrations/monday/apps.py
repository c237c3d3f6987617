from mlconnector import contract


class MondayConfig(contract.IntegrationConfig):
    name = "integrations.monday"
    label = "monday"
    verbose_name = "Monday.com"
    integration = "integrations.monday.integration.Monday"
