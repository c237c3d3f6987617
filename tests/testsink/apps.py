from mlconnector.contract import IntegrationConfig


class TestSinkConfig(IntegrationConfig):
    name = "tests.testsink"
    label = "testsink"
    integration = "tests.testsink.integration.TestSink"
