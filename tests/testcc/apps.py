from mlconnector import contract


class TestCCConfig(contract.IntegrationConfig):
    name = "tests.testcc"
    label = "testcc"
    integration = "tests.testcc.integration.TestCC"
