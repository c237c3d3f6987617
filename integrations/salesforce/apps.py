from mlconnector import contract


class SalesforceConfig(contract.IntegrationConfig):
    name = "integrations.salesforce"
    label = "salesforce"
    verbose_name = "Salesforce"
    integration = "integrations.salesforce.integration.Salesforce"
