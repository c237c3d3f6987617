from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "mlconnector.pipeline"
    label = "pipeline"
    verbose_name = "Deliveries"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from mlconnector.connections.models import Connection
        from mlconnector.pipeline import jobs

        # A connection saved as active (new, reconnected, resumed) gets its jobs at once; changes
        # made by queryset updates are caught by the dispatcher's periodic jobs.reconcile().
        post_save.connect(jobs.on_connection_saved, sender=Connection, dispatch_uid="pipeline-jobs")
