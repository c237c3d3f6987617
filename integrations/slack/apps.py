from mlconnector import contract


class SlackConfig(contract.IntegrationConfig):
    name = "integrations.slack"
    label = "slack"
    verbose_name = "Slack"
    integration = "integrations.slack.integration.Slack"
