"""The worker supervisor (`manage.py worker`): what runs on a worker machine, in place of a bare
`qcluster`. Any number may run, on any number of machines.

It dispatches: the supervisor holding the "dispatcher" lease (one across all machines; another takes
over within seconds if it dies) ticks every MLCONNECTOR_DISPATCH_INTERVAL from its first second, so
the first event after a start or a deploy is handed out at once (django-q2's own scheduler first
fires 30 s after start) and no worker slot is spent on dispatching.

It runs django-q2's `qcluster` as a child, in its own process group, and every
MLCONNECTOR_NODE_HEARTBEAT seconds:
- renews the leases of the work its live worker processes hold, so leases can be short
  (MLCONNECTOR_SUPERVISED_LEASE_SECONDS) and the work of a process that died is free within seconds;
- replaces the whole cluster when any of its processes dies. django-q2's workers wait in
  `multiprocessing.Queue.get`, which holds the queue's read lock while it waits: a worker killed
  there (the OOM killer picks idle ones too) never releases it, and every other worker, and every
  replacement django-q2 spawns, then blocks on it forever (django-q2 #23; django-q #394, #200).
  Reincarnating one worker cannot fix a lock shared by all of them; a new cluster has new queues.
  What the old cluster held is handed back at once: the dead process's work counted as a death,
  the rest as interrupted, and tasks it had fetched but not started are handed out again;
- watches progress, as a second line: if its workers have room, take nothing, and work handed out
  MLCONNECTOR_WATCHDOG_STALL seconds ago still waits for a worker, for MLCONNECTOR_WATCHDOG_WINDOW
  seconds, the cluster is replaced too;
- writes its heartbeat and what it saw to its WorkerNode row, which the health check reads.

On SIGTERM or SIGINT it stops dispatching, asks the cluster to stop (running tasks finish), kills
what is left after MLCONNECTOR_WORKER_STOP_GRACE seconds and hands back what was still held: it is
gone within a few seconds, inside honcho's and most orchestrators' kill timeouts.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta

import psutil
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from mlconnector.pipeline import dispatcher, leases
from mlconnector.pipeline.models import WorkerNode
from mlconnector.pipeline.node import NODE_ENV
from mlconnector.pipeline.work import BACKFILLS, DELIVERIES, EVENTS, JOBS

log = logging.getLogger("mlconnector.worker")
LIFECYCLES = (DELIVERIES, EVENTS, JOBS, BACKFILLS)
N = WorkerNode.State


class Supervisor:
    def __init__(self, *, workers: int | None = None, restart: bool = True, name: str = ""):
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.workers = workers or settings.Q_CLUSTER["workers"]
        self.restart_on_trouble = restart
        self.stopping = False
        self.cluster: subprocess.Popen | None = None
        self.cluster_started = None
        self.seen: set[int] = set()  # the cluster's processes seen alive
        self.complete = False  # all of them were seen at once
        self.held: frozenset = frozenset()  # (model, pk, attempts) its processes held at the last beat
        self.stalled_since = None
        self.problem = ""
        self.dispatching = False
        self.restarts = 0
        self.recent_restarts: list[float] = []
        self.started = timezone.now()
        self.progress_at = None  # the last time the work its processes hold changed

    # --- the loop --------------------------------------------------------------------------------
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        log.info("worker %s starting (%s workers)", self.name, self.workers)
        self._beat(N.STARTING)
        self._start_cluster()
        interval = settings.MLCONNECTOR_DISPATCH_INTERVAL
        heartbeat = settings.MLCONNECTOR_NODE_HEARTBEAT
        next_tick = next_beat = time.monotonic()
        while not self.stopping:
            now = time.monotonic()
            if now >= next_tick:
                self._dispatch()
                self._look()  # cheap (no database): a death is seen within one interval
                next_tick = time.monotonic() + interval
            if now >= next_beat and not self.stopping:
                self._watch()
                next_beat = time.monotonic() + heartbeat
            time.sleep(max(0.0, min(0.05, min(next_tick, next_beat) - time.monotonic())))
        self._shutdown()
        return 0

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def _dispatch(self) -> None:
        try:
            ttl = max(5.0, settings.MLCONNECTOR_DISPATCH_INTERVAL * 10)
            self.dispatching = leases.acquire(dispatcher.LEASE_NAME, self.name, ttl_seconds=ttl)
            if self.dispatching:
                dispatcher.tick()
        except Exception:  # noqa: BLE001 - a database hiccup must not end the supervisor
            log.exception("dispatcher tick failed")
            close_old_connections()

    def _look(self) -> None:
        try:
            self._check_processes()
        except Exception:  # noqa: BLE001
            log.exception("looking at the cluster failed")

    def _watch(self) -> None:
        try:
            if self._check_processes():
                self._renew_and_check_progress()
            if not self.stopping:
                self._beat(N.RUNNING)
                if self.dispatching:
                    self._forget_gone_nodes()
        except Exception:  # noqa: BLE001
            log.exception("worker heartbeat failed")
            close_old_connections()

    # --- watching the cluster ------------------------------------------------------------------------
    def processes(self) -> dict[int, psutil.Process]:
        """The cluster's live processes: its main process and its forks (sentinel, workers, monitor,
        pusher: their command line, or the title django-q2 gives them, names qcluster). Zombies, and
        short-lived helpers such as a shell an import runs, are not the cluster's."""
        if self.cluster is None or self.cluster.poll() is not None:
            return {}
        try:
            root = psutil.Process(self.cluster.pid)
            procs = root.children(recursive=True)
        except psutil.NoSuchProcess:
            return {}
        live = {root.pid: root}
        for proc in procs:
            try:
                if proc.status() != psutil.STATUS_ZOMBIE and "qcluster" in " ".join(proc.cmdline()):
                    live[proc.pid] = proc
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        return live

    def owner(self, pid: int) -> str:
        return f"{self.name}:{pid}"

    def _check_processes(self) -> bool:
        """True when the cluster is whole. A process of it that exits, or a new one appearing once
        it was complete (django-q2 replacing a worker whose death we did not see), means a death."""
        if self.cluster is None:
            return False
        code = self.cluster.poll()
        if code is not None:
            self._trouble(f"its cluster exited with code {code}", dead=set(self.seen))
            return False
        alive = set(self.processes())
        dead = self.seen - alive
        if dead:
            self._trouble(f"process {', '.join(map(str, sorted(dead)))} of its cluster died", dead=dead)
            return False
        # main process, sentinel, monitor, pusher and the workers
        if self.complete and alive - self.seen:
            new = ", ".join(map(str, sorted(alive - self.seen)))
            self._trouble(f"a process of its cluster died and was replaced (new process {new})", dead=set())
            return False
        self.seen |= alive
        self.complete = self.complete or len(alive) >= self.workers + 4
        return True

    def _renew_and_check_progress(self) -> None:
        alive = set(self.processes())
        now = timezone.now()
        owners = [self.owner(pid) for pid in alive]
        until = now + timedelta(seconds=settings.MLCONNECTOR_SUPERVISED_LEASE_SECONDS)
        held = set()
        for lifecycle in LIFECYCLES:
            rows = lifecycle.held_by(owners)
            rows.update(lease_until=until)
            held |= {(lifecycle.model.__name__, pk, n) for pk, n in rows.values_list("pk", "attempts")}
        self._check_progress(frozenset(held), now)

    def _check_progress(self, held: frozenset, now) -> None:
        """Work waits for a worker, this cluster has room, and takes nothing: it is stuck."""
        stale = now - timedelta(seconds=settings.MLCONNECTOR_WATCHDOG_STALL)
        waiting = sum(
            lc.model.objects.filter(status__in=lc.due, next_attempt_at__lte=now, dispatched_at__lt=stale).count()
            for lc in LIFECYCLES
        )
        progressed = held != self.held
        self.held = held
        if progressed:
            self.progress_at = now
        if waiting and len(held) < self.workers and not progressed:
            self.stalled_since = self.stalled_since or now
        else:
            self.stalled_since = None
            self.problem = "" if self.problem.startswith("its workers took no work") else self.problem
        if self.stalled_since is None:
            return
        stalled = (now - self.stalled_since).total_seconds()
        if stalled >= settings.MLCONNECTOR_WATCHDOG_WINDOW:
            self._trouble(f"its workers took no work for {stalled:.0f}s while {waiting} task(s) waited", dead=set())

    def _trouble(self, reason: str, *, dead: set[int]) -> None:
        if not self.restart_on_trouble:
            if reason != self.problem:
                log.error("worker %s: %s (not restarting: --no-restart)", self.name, reason)
            self.problem = reason
            return
        self._restart(reason, dead)

    # --- replacing the cluster ------------------------------------------------------------------------
    def _restart(self, reason: str, dead: set[int]) -> None:
        log.error("worker %s replaces its cluster: %s", self.name, reason)
        self.restarts += 1
        WorkerNode.objects.filter(pk=self.name).update(
            state=N.RESTARTING,
            restarts=self.restarts,
            last_restart_at=timezone.now(),
            last_restart_reason=reason[:2000],
            heartbeat_at=timezone.now(),
        )
        self._stop_cluster(settings.MLCONNECTOR_WORKER_RESTART_GRACE)
        self._release(dead, reason)
        self.problem = ""
        self.stalled_since = None
        # A cluster that cannot stay up (the broker or database is down) is not restarted in a loop.
        now = time.monotonic()
        self.recent_restarts = [t for t in self.recent_restarts if now - t < 60] + [now]
        pause = min(30.0, 2.0 ** (len(self.recent_restarts) - 2)) if len(self.recent_restarts) > 1 else 0.0
        deadline = now + pause
        while time.monotonic() < deadline and not self.stopping:
            time.sleep(0.05)
        if not self.stopping:
            self._start_cluster()

    def _release(self, dead: set[int], reason: str) -> None:
        """Hand back what the old cluster held: a dead process's work as a death (counted, so a task
        that kills its worker every time ends in "failed"), the rest as interrupted; and hand out
        again the tasks it had fetched but not started."""
        now = timezone.now()
        for lifecycle in LIFECYCLES:
            died = lifecycle.held_by([self.owner(pid) for pid in dead])
            dispatcher.recover(lifecycle, died, now, died=True, reason=f"its worker died ({reason}); retrying")
            rest = lifecycle.model.objects.filter(status=lifecycle.running, lease_owner__startswith=f"{self.name}:")
            dispatcher.recover(lifecycle, rest, now, died=False, reason=f"interrupted: {reason}; retrying")
            lifecycle.model.objects.filter(
                status__in=lifecycle.due, dispatched_at__isnull=False, dispatched_at__lte=now
            ).update(dispatched_at=None)

    def _start_cluster(self) -> None:
        env = {**os.environ, NODE_ENV: self.name, "MLCONNECTOR_WORKERS": str(self.workers)}
        manage = str(settings.BASE_DIR / "manage.py")
        self.cluster = subprocess.Popen([sys.executable, manage, "qcluster"], env=env, start_new_session=True)
        self.cluster_started = timezone.now()
        self.seen = set()
        self.complete = False
        self.held = frozenset()
        log.info("worker %s started its cluster (pid %s)", self.name, self.cluster.pid)
        WorkerNode.objects.filter(pk=self.name).update(
            cluster_pid=self.cluster.pid, cluster_started_at=self.cluster_started, state=N.RUNNING
        )

    def _stop_cluster(self, grace: float) -> None:
        """Ask the cluster to stop (django-q2 lets running tasks finish), then kill what is left."""
        proc = self.cluster
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # a wedged cluster never finishes stopping
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.error("worker %s: cluster %s did not die", self.name, proc.pid)
        self.cluster = None

    def _shutdown(self) -> None:
        log.info("worker %s stopping", self.name)
        WorkerNode.objects.filter(pk=self.name).update(state=N.STOPPING, heartbeat_at=timezone.now())
        leases.release(dispatcher.LEASE_NAME, self.name)
        self._stop_cluster(settings.MLCONNECTOR_WORKER_STOP_GRACE)
        self._release(set(), "the worker was stopped")
        WorkerNode.objects.filter(pk=self.name).update(state=N.STOPPED, heartbeat_at=timezone.now(), dispatching=False)
        log.info("worker %s stopped", self.name)

    # --- the node's row -------------------------------------------------------------------------------
    def _beat(self, state: str) -> None:
        now = timezone.now()
        defaults = {
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
            "workers": self.workers,
            "state": state,
            "started_at": self.started,
            "heartbeat_at": now,
            "cluster_pid": self.cluster.pid if self.cluster else None,
            "cluster_started_at": self.cluster_started,
            "running": len(self.held),
            "progress_at": self.progress_at,
            "stalled_since": self.stalled_since,
            "restarts": self.restarts,
            "dispatching": self.dispatching,
            "problem": self.problem[:2000],
        }
        WorkerNode.objects.update_or_create(pk=self.name, defaults=defaults)

    def _forget_gone_nodes(self) -> None:
        """A node whose heartbeat stopped (its machine or supervisor died) may have fetched tasks it
        will never start: hand out again what was handed out before it went silent. (What it was
        running comes back by itself: nobody renews those leases.)"""
        silent = timezone.now() - timedelta(seconds=3 * settings.MLCONNECTOR_NODE_HEARTBEAT + 10)
        for gone in WorkerNode.objects.filter(heartbeat_at__lt=silent).exclude(state=N.STOPPED):
            for lifecycle in LIFECYCLES:
                lifecycle.model.objects.filter(
                    status__in=lifecycle.due, dispatched_at__isnull=False, dispatched_at__lte=gone.heartbeat_at
                ).update(dispatched_at=None)
            WorkerNode.objects.filter(pk=gone.pk, heartbeat_at=gone.heartbeat_at).update(
                state=N.STOPPED, problem="its heartbeat stopped: the process or its machine died"
            )
            log.error("worker node %s went silent; its fetched tasks are handed out again", gone.pk)
