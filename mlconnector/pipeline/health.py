"""Is accepted work moving? The worker tier's readiness / liveness check.

`python manage.py health` (exit 1 when failing) and GET /health/workers (503 when failing) report
each live worker node (its cluster, the work it holds, its last progress, restarts and any problem
it sees), the broker's queue depth, and the oldest due work not yet handed out or handed out but
not yet started. They fail when work is stuck: no live worker while work is due, due work nobody
hands out, handed-out work nobody starts, or a node whose workers take nothing while work waits.
No tenant data: counts, ages and node names only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Min
from django.http import JsonResponse
from django.utils import timezone

from mlconnector.pipeline.jobs import RUNS_FOR
from mlconnector.pipeline.models import WorkerNode
from mlconnector.pipeline.work import BACKFILLS, DELIVERIES, EVENTS, JOBS

KINDS = {"events": EVENTS, "deliveries": DELIVERIES, "jobs": JOBS, "backfills": BACKFILLS}


def _age(when: datetime | None, now: datetime) -> float | None:
    return round((now - when).total_seconds(), 1) if when else None


def _queue_depth() -> int | None:
    try:
        from django_q.brokers import get_broker

        return get_broker().queue_size()
    except Exception:  # noqa: BLE001 - the broker being down is itself reported by the counts
        return None


def report(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    heartbeat = settings.MLCONNECTOR_NODE_HEARTBEAT
    silent_after = timedelta(seconds=3 * heartbeat + 10)
    limits = {
        "undispatched": settings.MLCONNECTOR_HEALTH_UNDISPATCHED_SECONDS,
        "unstarted": settings.MLCONNECTOR_HEALTH_UNSTARTED_SECONDS,
        "stalled": settings.MLCONNECTOR_HEALTH_STALLED_SECONDS,
    }
    problems: list[str] = []

    nodes = []
    for node in WorkerNode.objects.exclude(state=WorkerNode.State.STOPPED).order_by("name"):
        alive = now - node.heartbeat_at < silent_after
        stalled = _age(node.stalled_since, now)
        nodes.append(
            {
                "name": node.name,
                "host": node.hostname,
                "state": node.state,
                "alive": alive,
                "heartbeat_age": _age(node.heartbeat_at, now),
                "workers": node.workers,
                "cluster_pid": node.cluster_pid,
                "cluster_age": _age(node.cluster_started_at, now),
                "running": node.running,
                "last_progress_age": _age(node.progress_at, now),
                "stalled_for": stalled,
                "restarts": node.restarts,
                "last_restart_reason": node.last_restart_reason,
                "dispatching": node.dispatching,
                "problem": node.problem,
            }
        )
        if not alive:
            problems.append(f"worker {node.name}: no heartbeat for {_age(node.heartbeat_at, now):.0f}s")
        elif node.problem:
            problems.append(f"worker {node.name}: {node.problem}")
        elif stalled is not None and stalled >= limits["stalled"]:
            problems.append(f"worker {node.name}: its workers took no work for {stalled:.0f}s while work waited")
    live = [n for n in nodes if n["alive"]]

    work = {}
    for kind, lifecycle in KINDS.items():
        due = lifecycle.model.objects.filter(status__in=lifecycle.due, next_attempt_at__lte=now)
        if lifecycle is JOBS:  # a paused connection's jobs wait on purpose
            due = due.filter(connection__status__in=RUNS_FOR)
        waiting = due.filter(dispatched_at__isnull=True)
        handed = due.filter(dispatched_at__isnull=False)
        oldest_waiting = waiting.aggregate(t=Min("next_attempt_at"))["t"]
        oldest_handed = handed.aggregate(t=Min("dispatched_at"))["t"]
        work[kind] = {
            "due_not_handed_out": waiting.count(),
            "oldest_due_not_handed_out_age": _age(oldest_waiting, now),
            "handed_out_not_started": handed.count(),
            "oldest_handed_out_not_started_age": _age(oldest_handed, now),
            "running": lifecycle.model.objects.filter(status=lifecycle.running).count(),
        }
        if oldest_waiting and _age(oldest_waiting, now) >= limits["undispatched"]:
            who = "no live worker" if not live else "the dispatcher is not running"
            problems.append(f"{kind}: due work not handed out for {_age(oldest_waiting, now):.0f}s ({who})")
        # A backlog is not a fault while workers make progress; nothing started by anyone is.
        idle_for = min((n["last_progress_age"] for n in live if n["last_progress_age"] is not None), default=None)
        if (
            oldest_handed
            and _age(oldest_handed, now) >= limits["unstarted"]
            and (idle_for is None or idle_for >= limits["unstarted"])
        ):
            problems.append(f"{kind}: handed-out work not started by any worker for {_age(oldest_handed, now):.0f}s")
    if not live and any(w["due_not_handed_out"] or w["handed_out_not_started"] for w in work.values()):
        problems.append("no live worker while work is due")

    return {
        "ok": not problems,
        "problems": problems,
        "checked_at": now.isoformat(),
        "nodes": nodes,
        "queue_depth": _queue_depth(),
        "work": work,
    }


def workers_view(request):
    """GET /health/workers: for orchestrators and monitors; 503 when work is stuck."""
    data = report()
    return JsonResponse(data, status=200 if data["ok"] else 503)


def web_view(request):
    """GET /health/: the web process is up and reaches its database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
