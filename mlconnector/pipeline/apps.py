from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "mlconnector.pipeline"
    label = "pipeline"
    verbose_name = "Deliveries"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from mlconnector.connections.models import Connection
        from mlconnector.connections.signals import connection_activated
        from mlconnector.pipeline import jobs

        # A connection that becomes active (new, reconnected, resumed) or is saved active gets its
        # jobs at once; anything else is caught by the dispatcher's periodic jobs.reconcile().
        post_save.connect(jobs.on_connection_saved, sender=Connection, dispatch_uid="pipeline-jobs")
        connection_activated.connect(jobs.on_connection_activated, dispatch_uid="pipeline-jobs-activated")
