from mlconnector import contract


class HubSpotConfig(contract.IntegrationConfig):
    name = "integrations.hubspot"
    label = "hubspot"
    verbose_name = "HubSpot"
    integration = "integrations.hubspot.integration.HubSpot"
