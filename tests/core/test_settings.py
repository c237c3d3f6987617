"""Pins the django-q2 settings whose defaults run tasks twice (django-q issues #183, #307, #327)."""

from django.conf import settings

from mlconnector import settings as app_settings


def test_it_sets_retry_longer_than_timeout_plus_a_prefetched_wait():
    q = app_settings.Q_CLUSTER
    assert q["timeout"] and q["retry"]
    # A prefetched task waits at most one task (queue_limit <= workers) before it runs for up to `timeout`.
    assert q["queue_limit"] <= q["workers"]
    assert q["retry"] > q["timeout"] * (1 + q["queue_limit"] / q["workers"])


def test_it_prefetches_one_task_at_a_time_and_never_lets_the_broker_retry():
    q = app_settings.Q_CLUSTER
    assert q["bulk"] == 1
    assert q["max_attempts"] == 1
    assert q["ack_failures"] is True
    assert q["catch_up"] is False


def test_it_keeps_unrenewed_leases_longer_than_the_task_timeout():
    # Under a bare qcluster nobody renews a lease: only a dead worker may lose one, and a live one
    # is killed by django-q2's timeout first.
    assert settings.MLCONNECTOR_LEASE_SECONDS > app_settings.Q_CLUSTER["timeout"]


def test_a_supervised_lease_outlives_several_renewals_and_frees_dead_work_within_30s():
    assert settings.MLCONNECTOR_SUPERVISED_LEASE_SECONDS >= 5 * settings.MLCONNECTOR_NODE_HEARTBEAT
    assert settings.MLCONNECTOR_SUPERVISED_LEASE_SECONDS + settings.MLCONNECTOR_DISPATCH_INTERVAL < 30


def test_workers_are_never_recycled_because_the_supervisor_replaces_a_cluster_on_any_exit():
    assert app_settings.Q_CLUSTER["recycle"] == 0


def test_a_stopping_worker_finishes_inside_honchos_five_second_kill_timeout():
    assert settings.MLCONNECTOR_WORKER_STOP_GRACE + 1 < 5


def test_it_retries_for_at_least_a_day():
    assert settings.MLCONNECTOR_RETRY_HORIZON_SECONDS >= 24 * 3600


def test_it_keeps_the_encryption_key_apart_from_secret_key():
    assert settings.SECRET_KEY not in settings.MLCONNECTOR_ENCRYPTION_KEYS


def test_production_starts_with_only_the_documented_keys_set():
    """The README's production recipe: MLCONNECTOR_ENCRYPTION_KEYS alone (no single-key variable)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MLCONNECTOR_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    env |= {
        "MLCONNECTOR_ENV": "production",
        "MLCONNECTOR_SECRET_KEY": "x" * 60,
        "MLCONNECTOR_ENCRYPTION_KEYS": "new-key-not-secret-0000000000000,old-key-not-secret-000000000000",
        "MLCONNECTOR_ALLOWED_HOSTS": "connector.example.com",
        "DJANGO_SETTINGS_MODULE": "mlconnector.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(len(settings.MLCONNECTOR_ENCRYPTION_KEYS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip() == "2"
