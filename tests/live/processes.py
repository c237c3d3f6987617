"""Start real ml-connector processes (qcluster, or the worker supervisor) against the test database,
and find their processes, for crash tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def process_env(public_url: str, **extra: str) -> dict[str, str]:
    """Environment for a child process that shares this test run's database, broker and sandbox."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "MLCONNECTOR_Q_SYNC": "0",
        "MLCONNECTOR_SANDBOX_INPROCESS": "0",
        "MLCONNECTOR_WORKERS": "1",
        "MLCONNECTOR_LOG_LEVEL": "INFO",
        "MLCONNECTOR_TEST_PUBLIC_URL": public_url,
    }
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["MLCONNECTOR_SQLITE_PATH"] = db["NAME"]
    else:
        user = db.get("USER") or ""
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update(extra)
    return env


@contextlib.contextmanager
def qcluster(env: dict[str, str], log_path: Path):
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@contextlib.contextmanager
def worker(env: dict[str, str], log_path: Path, *args: str):
    """`manage.py worker` (the supervisor, its dispatcher and its qcluster), as `make run` runs it."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                for child in _tree(proc.pid):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        child.kill()
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def cluster_processes(supervisor_pid: int) -> dict[str, list[psutil.Process]]:
    """The supervised cluster's processes by role, read from the titles django-q2 gives them."""
    roles: dict[str, list[psutil.Process]] = {"main": [], "idle": [], "busy": [], "monitor": [], "pusher": []}
    for proc in _tree(supervisor_pid):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            title = " ".join(proc.cmdline()).strip()
        except psutil.NoSuchProcess:
            continue
        if title.startswith("qcluster MainProcess"):
            roles["main"].append(proc)
        elif title.endswith(" idle"):
            roles["idle"].append(proc)
        elif " processing " in title:
            roles["busy"].append(proc)
        elif title.endswith(" monitor"):
            roles["monitor"].append(proc)
        elif title.endswith(" pusher"):
            roles["pusher"].append(proc)
    return roles


def syscall(proc: psutil.Process) -> int:
    """The system call a process is blocked in (Linux: /proc/<pid>/syscall)."""
    return int(Path(f"/proc/{proc.pid}/syscall").read_text().split()[0])


def lock_holder(supervisor_pid: int) -> psutil.Process:
    """The idle worker that holds the task queue's read lock: it waits in read() on the queue's pipe,
    while the other idle workers wait for the lock itself (a futex)."""
    readers = [p for p in cluster_processes(supervisor_pid)["idle"] if syscall(p) == 0]
    assert len(readers) == 1, f"expected one idle worker reading the queue, found {readers}"
    return readers[0]


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the cluster and its workers: no cleanup, no acknowledgement, as a crash would."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
