from mlconnector import contract


class TestBatchConfig(contract.IntegrationConfig):
    name = "tests.testbatch"
    label = "testbatch"
    integration = "tests.testbatch.integration.TestBatch"
