from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "mlconnector.pipeline"
    label = "pipeline"
    verbose_name = "Deliveries"
