"""`manage.py worker`: run a worker node (the supervisor, the dispatcher and a django-q2 cluster).

Use it wherever `qcluster` would run: in `make run`, and on every worker machine in production.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from mlconnector.pipeline.supervisor import Supervisor


class Command(BaseCommand):
    help = "Run a worker node: dispatch due work and run a supervised django-q2 cluster."

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=0, help="Worker processes (default MLCONNECTOR_WORKERS).")
        parser.add_argument(
            "--no-restart",
            action="store_true",
            help="Watch and report (manage.py health), but never replace the cluster. For diagnosis only.",
        )

    def handle(self, *args, workers: int, no_restart: bool, **options):
        raise SystemExit(Supervisor(workers=workers or None, restart=not no_restart).run())
