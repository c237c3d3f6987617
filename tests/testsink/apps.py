from mlconnector import contract


class TestSinkConfig(contract.IntegrationConfig):
    name = "tests.testsink"
    label = "testsink"
    integration = "tests.testsink.integration.TestSink"
