from mlconnector import contract


class TestSourceConfig(contract.IntegrationConfig):
    name = "tests.testsource"
    label = "testsource"
    integration = "tests.testsource.integration.TestSource"
