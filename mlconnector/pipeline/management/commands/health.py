"""`manage.py health`: is accepted work moving? Exit 0 when it is, 1 when work is stuck."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from mlconnector.pipeline.health import report


class Command(BaseCommand):
    help = "Report the worker nodes, queue depth and oldest waiting work; exit 1 when work is stuck."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the full report as JSON.")

    def handle(self, *args, **options):
        data = report()
        if options["json"]:
            self.stdout.write(_json(data))
        else:
            self.stdout.write(("OK" if data["ok"] else "FAILING") + f" at {data['checked_at']}")
            for problem in data["problems"]:
                self.stdout.write(f"  problem: {problem}")
            for node in data["nodes"]:
                progress = node["last_progress_age"]
                self.stdout.write(
                    f"  worker {node['name']} ({node['state']}{', dispatching' if node['dispatching'] else ''}): "
                    f"{node['running']}/{node['workers']} busy, last progress "
                    f"{'never' if progress is None else f'{progress:.0f}s ago'}, {node['restarts']} restart(s)"
                )
            self.stdout.write(f"  broker queue depth: {data['queue_depth']}")
            for kind, counts in data["work"].items():
                self.stdout.write(
                    f"  {kind}: {counts['due_not_handed_out']} due not handed out, "
                    f"{counts['handed_out_not_started']} handed out not started, {counts['running']} running"
                )
        if not data["ok"]:
            raise SystemExit(1)


def _json(data) -> str:
    return json.dumps(data, indent=2, default=str)
