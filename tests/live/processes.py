"""Start real ml-connector processes (qcluster) against the test database, for crash tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
