"""Slack drain: N messages queued for one channel, posted by a real cluster against the sandbox's limit.

Reports the achieved messages per second as a ratio to the channel's allowance (1 / interval), the
sandbox's 429 count as a share of chat.postMessage calls, and any message lost or posted twice.
"""

# Run: `make bench-slack` (= .venv/bin/python bench/slack_drain.py). On demand only, never in the tests.
#
# One run: a fresh database (SQLite in a temp dir, or a throwaway PostgreSQL database with Redis as
# broker and limiter), migrated; a tenant with a FreshBooks source, a Slack connection holding a
# token the sandbox workspace issued, the rule "all invoices -> #accounting" and N processed
# invoice events, each with a Delivery to Slack. gunicorn serves mlconnector.wsgi (the sandbox Slack
# lives under /sandbox/ of the same app) and `manage.py worker` works the queue, both as child
# processes with a clean environment. Every delivery is handed to the workers at once, as a fan-out
# does (dispatcher.enqueue_deliveries); the bench then waits until all of them succeeded and reads
# what the sandbox stored: its messages (with their ts) and its per-channel 429 counter.
#
# The sandbox's per-channel limit (SANDBOX_SLACK_CHANNEL_INTERVAL) is a Django setting with no
# environment variable, so the children run a settings module generated in the temp dir that imports
# mlconnector.settings and sets it; our own pacing gets SLACK_CHANNEL_INTERVAL from the environment.

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
SETTINGS_MODULE = "bench_slack_settings"
CHANNEL = "accounting"
# Before the measured burst, a few deliveries to another channel load the code in every worker.
WARMUP_CHANNEL = "general"
WARMUP = 6
PREFIX = "SD-"  # invoice numbers SD-00000 ...; each message's headline ends with "(SD-00042)"
NUMBER = re.compile(r"\(SD-(\d{5})\)")
TARGET_RATIO = 0.95
TARGET_429_SHARE = 0.01
# Variables that could point a child at the developer's database, broker, keys or provider settings.
_INHERITED_PREFIXES = ("MLCONNECTOR_", "DATABASE_URL", "REDIS_URL", "DJANGO_", "FRESHBOOKS_", "SLACK_", "SANDBOX_")


# --- the Django side (runs in child processes with the run's environment) ------------------------


def django_side(command: str, messages: int, timeout: float) -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    {"setup": setup, "warm": warm, "drain": drain}[command](messages, timeout)


def emit(result: dict) -> None:
    print(json.dumps(result), flush=True)


def log(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def setup(messages: int, timeout: float) -> None:
    """Migrate, then the tenant, both connections, the rule and N events with a Delivery each.

    The deliveries are created not yet due (a year ahead), so the dispatcher leaves them alone
    until `drain` makes them due and hands them out."""
    from datetime import timedelta
    from decimal import Decimal

    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from integrations.sandbox import tokens
    from integrations.slack.models import RoutingRule
    from integrations.slack.sandbox import state as slack_sandbox
    from mlconnector.connections.models import Connection
    from mlconnector.pipeline.models import Delivery
    from mlconnector.tenants.models import Tenant
    from mlconnector.webhooks.models import InboundEvent

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    tenant = Tenant.objects.create(name="Drain Ltd", slug="drain")
    source = Connection.objects.create(
        tenant=tenant,
        provider="freshbooks",
        name="Drain books",
        # Paused: the events are already processed, and an active source would be polled (against
        # the sandbox FreshBooks, which does not know these fake tokens) by the scheduled sweep.
        status=Connection.Status.PAUSED,
        credentials={"access_token": "bench-access-token", "refresh_token": "bench-refresh-token"},
        config={"account_id": "DRAIN1", "business_name": "Drain Ltd"},
        external_account_id="DRAIN1",
    )
    account = slack_sandbox.ensure_workspace()
    app = tokens.app_for("slack", settings.SLACK_CLIENT_ID)
    issued = slack_sandbox.issue_tokens(account, app, ",".join(settings.SLACK_SCOPES))
    slack = Connection.objects.create(
        tenant=tenant,
        provider="slack",
        name=account.name,
        status=Connection.Status.ACTIVE,
        credentials={k: issued[k] for k in ("access_token", "refresh_token") if k in issued},
        config={"team_id": account.key, "team_name": account.name},
        external_account_id=account.key,
    )
    RoutingRule.objects.create(
        tenant=tenant,
        name="All invoices",
        position=0,
        event_types=["invoice.create"],
        channel_id=slack_sandbox.channel_id(CHANNEL),
        channel_name=CHANNEL,
        team_id=account.key,
    )
    RoutingRule.objects.create(
        tenant=tenant,
        name="Warm-up",
        position=1,
        event_types=["invoice.update"],
        channel_id=slack_sandbox.channel_id(WARMUP_CHANNEL),
        channel_name=WARMUP_CHANNEL,
        team_id=account.key,
    )
    now = timezone.now()
    events = []
    for n in range(messages + WARMUP):
        number = f"{PREFIX}{n:05d}" if n < messages else f"WU-{n - messages:05d}"
        record = {
            "id": 700000 + n,
            "invoiceid": 700000 + n,
            "invoice_number": number,
            "organization": "Northwind Traders",
            "amount": {"amount": f"{100 + n}.00", "code": "USD"},
            "outstanding": {"amount": f"{100 + n}.00", "code": "USD"},
            "status": 2,
            "v3_status": "sent",
            "due_date": "2026-12-21",
            "updated": "2026-11-21 09:00:00",
        }
        events.append(
            InboundEvent(
                tenant=tenant,
                connection=source,
                provider="freshbooks",
                event_type="invoice.create" if n < messages else "invoice.update",
                object_id=str(record["id"]),
                account_id="DRAIN1",
                dedupe_key=f"drain-{n}",
                status=InboundEvent.Status.PROCESSED,
                payload=record,
                invoice_number=number,
                counterparty="Northwind Traders",
                amount=Decimal(f"{100 + n}.00"),
                currency="USD",
                next_attempt_at=now,
                received_at=now,
                processed_at=now,
            )
        )
    events = InboundEvent.objects.bulk_create(events, batch_size=200)
    if any(e.pk is None for e in events):  # backends that do not return ids from bulk inserts
        events = list(InboundEvent.objects.filter(tenant=tenant).order_by("id"))
    later = now + timedelta(days=365)
    Delivery.objects.bulk_create(
        [
            Delivery(
                tenant=tenant,
                event=e,
                connection=slack,
                provider="slack",
                event_type=e.event_type,
                next_attempt_at=later,
            )
            for e in events
        ],
        batch_size=200,
    )
    emit({"deliveries": Delivery.objects.filter(connection=slack, event_type="invoice.create").count()})


def warm(messages: int, timeout: float) -> None:
    """Load code in every gunicorn worker, as a long-running server has: rounds of concurrent
    auth.test calls and posts to other channels than #accounting (so it starts unused)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from integrations.slack.sandbox import state as slack_sandbox
    from mlconnector.connections.models import Connection

    conn = Connection.objects.get(provider="slack")
    channels = [slack_sandbox.channel_id(name) for name in ("general", "random", "exec-alerts", "accounting-team")]

    def call(channel: str) -> None:
        try:
            client = conn.integration.client()
            client.auth_test()
            client.post_message(channel, {"text": "warming up"})
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(channels)) as pool:
        for _ in range(3):
            list(pool.map(call, channels))
            time.sleep(slack_sandbox.channel_interval() + 0.1)
    emit({"warm": True})


def drain(messages: int, timeout: float) -> None:
    from django.conf import settings
    from django.db.models import Count, Max
    from django.utils import timezone

    from integrations.slack.models import SlackPost
    from integrations.slack.sandbox import state as slack_sandbox
    from mlconnector.pipeline.dispatcher import LEASE_NAME, enqueue_deliveries
    from mlconnector.pipeline.models import Delivery, Lease

    S = Delivery.Status
    measured = Delivery.objects.filter(event_type="invoice.create")
    warmup = Delivery.objects.filter(event_type="invoice.update")

    def hand_out(deliveries) -> None:
        deliveries.filter(status=S.PENDING).update(next_attempt_at=timezone.now())
        enqueue_deliveries(deliveries.filter(status=S.PENDING).order_by("id").values_list("pk", flat=True))

    # Steady state first: django-q2's scheduler starts the dispatcher about 30 s after the cluster,
    # and a post deferred by a 429 only comes back through the dispatcher.
    deadline = time.monotonic() + 120
    while not Lease.objects.filter(name=LEASE_NAME, until__gt=timezone.now()).exists():
        if time.monotonic() > deadline:
            emit({"error": "the dispatcher did not start within 120 s of the cluster"})
            return
        time.sleep(0.5)
    hand_out(warmup)
    deadline = time.monotonic() + 120
    while warmup.filter(status=S.SUCCEEDED).count() < WARMUP:
        if time.monotonic() > deadline:
            emit({"error": f"the warm-up deliveries to #{WARMUP_CHANNEL} did not finish within 120 s"})
            return
        time.sleep(0.5)
    log(
        f"cluster up ({settings.Q_CLUSTER['workers']} workers, dispatcher running, {WARMUP} warm-up posts to "
        f"#{WARMUP_CHANNEL} done); handing out {messages} deliveries"
    )

    started = time.time()
    hand_out(measured)
    enqueued_s = time.time() - started
    log(f"enqueued in {enqueued_s:.1f} s")

    deadline = time.monotonic() + timeout
    next_note = time.monotonic() + 15
    active = (S.PENDING, S.RUNNING, S.RETRYING)
    while True:
        statuses = dict(measured.values_list("status").annotate(n=Count("id")))
        done = statuses.get(S.SUCCEEDED, 0)
        if done >= messages or not any(statuses.get(s, 0) for s in active):
            timed_out = False
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        if time.monotonic() >= next_note:
            log(f"{time.time() - started:6.0f} s: {done}/{messages} delivered  {statuses}")
            next_note += 15
        time.sleep(1.0)

    last_success = measured.aggregate(t=Max("succeeded_at"))["t"]
    posted = slack_sandbox.messages(CHANNEL)
    numbers = Counter()
    unparsed = 0
    for m in posted:
        found = NUMBER.search(m.get("text") or "")
        if found:
            numbers[int(found.group(1))] += 1
        else:
            unparsed += 1
    times = sorted(float(m["ts"]) for m in posted)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    not_done = measured.exclude(status=S.SUCCEEDED)
    emit(
        {
            "messages": messages,
            "enqueued_s": enqueued_s,
            "timed_out": timed_out,
            "elapsed_s": (last_success.timestamp() - started) if last_success else None,
            "statuses": dict(measured.values_list("status").annotate(n=Count("id"))),
            "post_statuses": dict(
                SlackPost.objects.filter(channel_name=CHANNEL).values_list("status").annotate(n=Count("id"))
            ),
            "errors": list(dict.fromkeys(not_done.exclude(last_error="").values_list("last_error", flat=True)))[:5],
            "posted": len(posted),
            "distinct": len(numbers),
            "duplicates": sum(c - 1 for c in numbers.values() if c > 1),
            "missing": len(set(range(messages)) - set(numbers)),
            "unparsed": unparsed,
            "rate_limited": slack_sandbox.rate_limited_count(CHANNEL),
            "first_ts": times[0] if times else None,
            "last_ts": times[-1] if times else None,
            "gap_median": statistics.median(gaps) if gaps else None,
            "gap_min": min(gaps) if gaps else None,
            "gap_max": max(gaps) if gaps else None,
            "gaps_over_2x": sum(1 for g in gaps if g > 2 * settings.SLACK_CHANNEL_INTERVAL),
            "gaps_over_2x_s": sum(g for g in gaps if g > 2 * settings.SLACK_CHANNEL_INTERVAL),
            "interval": settings.SLACK_CHANNEL_INTERVAL,
            "sandbox_interval": slack_sandbox.channel_interval(),
            "margin": settings.SLACK_PACING_MARGIN,
            "extra_attempts": sum(max(0, a - 1) for a in measured.values_list("attempts", flat=True)),
        }
    )


def call_django(env: dict[str, str], command: str, args: argparse.Namespace) -> dict:
    """Run a Django step in a child; its stderr (progress) goes to the terminal, stdout is the result."""
    out = subprocess.run(
        [sys.executable, __file__, "--django", command, "--messages", str(args.messages)]
        + ["--timeout", str(args.timeout)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"django {command} failed (exit {out.returncode}):\n{out.stdout[-3000:]}")
    return json.loads(lines[-1])


# --- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, group: bool) -> None:
    """SIGTERM (the process group for qcluster, so its workers finish), then SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM) if group else proc.terminate()
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL) if group else proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


@contextmanager
def gunicorn(env: dict[str, str], port: int, args: argparse.Namespace, log_path: Path) -> Iterator[None]:
    cmd = [
        GUNICORN, "--workers", str(args.web_workers), "--worker-class", "sync", "--timeout", "60",
        "--log-level", "warning", "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "mlconnector.wsgi:application",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(b"GET /sandbox/slack/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield
    finally:
        stop(proc, group=False)


@contextmanager
def qcluster(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """`manage.py worker`: the supervisor (and dispatcher) with its qcluster, as `make run` runs it."""
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "worker"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, apart from this script's
        )
    try:
        yield proc
    finally:
        stop(proc, group=False)  # the supervisor stops its cluster itself


# --- backends ------------------------------------------------------------------------------------


def base_env(var_dir: Path, port: int, args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        {
            "MLCONNECTOR_VAR_DIR": str(var_dir),
            "MLCONNECTOR_ENV": "development",
            "MLCONNECTOR_DEBUG": "0",
            "MLCONNECTOR_SANDBOX": "1",
            "MLCONNECTOR_Q_SYNC": "0",
            "MLCONNECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MLCONNECTOR_WORKERS": str(args.workers),
            "MLCONNECTOR_LOG_LEVEL": "WARNING",
            "MLCONNECTOR_LOG_FILE": str(var_dir / "app.log"),
            "SLACK_CHANNEL_INTERVAL": repr(args.interval),
            "BENCH_SANDBOX_SLACK_CHANNEL_INTERVAL": repr(args.interval),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(var_dir)]),
        }
    )
    if args.margin is not None:
        env["SLACK_PACING_MARGIN"] = repr(args.margin)
    (var_dir / f"{SETTINGS_MODULE}.py").write_text(
        '"""Generated by bench/slack_drain.py: mlconnector.settings plus the sandbox\'s channel limit."""\n'
        "import os\n\n"
        "from mlconnector.settings import *  # noqa: F403\n\n"
        'SANDBOX_SLACK_CHANNEL_INTERVAL = float(os.environ["BENCH_SANDBOX_SLACK_CHANNEL_INTERVAL"])\n'
    )
    return env


def pick_redis_db(url: str) -> int:
    """The highest-numbered empty Redis database, so nobody else's keys are touched or flushed."""
    import redis

    for db in range(15, 0, -1):
        if redis.Redis.from_url(url, db=db).dbsize() == 0:
            return db
    raise RuntimeError(f"no empty Redis database at {url}")


@contextmanager
def backend(args: argparse.Namespace) -> Iterator[tuple[dict[str, str], Path, int]]:
    with tempfile.TemporaryDirectory(prefix=f"bench-slack-{args.backend}-") as tmp:
        var_dir = Path(tmp)
        port = free_port()
        env = base_env(var_dir, port, args)
        if args.backend == "sqlite":
            env["MLCONNECTOR_SQLITE_PATH"] = str(var_dir / "bench.sqlite3")
            yield env, var_dir, port
            return
        import psycopg
        import redis

        redis_db = args.redis_db if args.redis_db is not None else pick_redis_db(args.redis_url)
        db = f"mlconnector_bench_slack_{os.getpid()}"
        with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{db}"')
        try:
            parts = urllib.parse.urlsplit(args.pg_admin_url)
            env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))
            env["REDIS_URL"] = f"{args.redis_url.rstrip('/')}/{redis_db}"
            print(f"  PostgreSQL database {db}, Redis database {redis_db}", flush=True)
            yield env, var_dir, port
        finally:
            with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            redis.Redis.from_url(env["REDIS_URL"]).flushdb()


# --- main ----------------------------------------------------------------------------------------


def versions(args: argparse.Namespace) -> str:
    import django
    import gunicorn as gunicorn_pkg

    extra = ""
    if args.backend == "postgres":
        try:
            import psycopg

            with psycopg.connect(args.pg_admin_url) as c:
                extra = ", PostgreSQL " + c.execute("SHOW server_version").fetchone()[0].split()[0]
        except Exception:  # noqa: BLE001 - only for the header line
            extra = ", PostgreSQL unreachable"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs (load {load:.1f}), Python {platform.python_version()}, "
        f"Django {django.__version__}, gunicorn {gunicorn_pkg.__version__}{extra}"
    )


def report(r: dict, args: argparse.Namespace) -> bool:
    """Print the result table; True when the run met every target."""
    n = r["messages"]
    lost = max(n - r["statuses"].get("succeeded", 0), r["missing"])
    calls = r["posted"] + r["rate_limited"]
    share = r["rate_limited"] / calls if calls else 0.0
    span = (r["last_ts"] - r["first_ts"]) if r["posted"] > 1 else 0.0
    rate = (r["posted"] - 1) / span if span > 0 else 0.0
    allowance = 1 / r["interval"]
    ratio = rate / allowance
    ceiling = r["interval"] / (r["interval"] + r["margin"])
    ok = lost == 0 and r["duplicates"] == 0 and ratio >= TARGET_RATIO and share < TARGET_429_SHARE
    elapsed = f"{r['elapsed_s']:.1f}" if r["elapsed_s"] is not None else "-"
    header = (
        "backend  | interval s | workers | queued | posted | lost | dups | 429s | 429 % of calls | "
        "achieved msg/s | allowance msg/s | ratio | pacing ceiling | elapsed s | target"
    )
    print()
    print(header)
    print("-" * len(header))
    print(
        f"{args.backend:<8} | {r['interval']:10.2f} | {args.workers:7d} | {n:6d} | {r['posted']:6d} | {lost:4d} | "
        f"{r['duplicates']:4d} | {r['rate_limited']:4d} | {share * 100:13.2f}% | {rate:14.3f} | {allowance:15.3f} | "
        f"{ratio:5.3f} | {ceiling:14.3f} | {elapsed:>9} | {'met' if ok else 'MISSED'}"
    )
    print()
    if r["gap_median"] is not None:
        print(
            f"gaps between posts: median {r['gap_median']:.3f} s, min {r['gap_min']:.3f} s, max {r['gap_max']:.3f} s, "
            f"{r['gaps_over_2x']} over 2x the interval; enqueueing took {r['enqueued_s']:.1f} s; "
            f"{r['extra_attempts']} attempts beyond one per delivery"
        )
    if r.get("gaps_over_2x") and span > r["gaps_over_2x_s"]:
        steady = (r["posted"] - 1) / (span - r["gaps_over_2x_s"])
        print(
            f"without those {r['gaps_over_2x']} gaps ({r['gaps_over_2x_s']:.1f} s): {steady:.3f} msg/s, "
            f"ratio {steady * r['interval']:.3f} (for diagnosis only; the target counts the whole span)"
        )
    print(f"deliveries: {r['statuses']}  posts: {r['post_statuses']}")
    print(
        f"pacing: SLACK_CHANNEL_INTERVAL {r['interval']} + SLACK_PACING_MARGIN {r['margin']} s; "
        f"sandbox limit {r['sandbox_interval']} s. Pacing ceiling = interval / (interval + margin)."
    )
    if r["timed_out"]:
        print(f"TIMED OUT after {args.timeout:.0f} s with deliveries still in flight")
    if r["unparsed"]:
        print(f"{r['unparsed']} messages in #{CHANNEL} carried no invoice number")
    for error in r["errors"]:
        print(f"error on an unfinished delivery: {error[:300]}")
    return ok


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--messages", type=int, default=600, help="messages queued for the one channel")
    p.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="the channel limit in seconds, for the sandbox and our pacing alike (1.0 is Slack's; a run takes "
        "messages x interval)",
    )
    p.add_argument("--workers", type=int, default=2, help="qcluster workers (MLCONNECTOR_WORKERS)")
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--margin", type=float, help="SLACK_PACING_MARGIN in seconds (default: the app's)")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers serving the sandbox")
    p.add_argument(
        "--timeout", type=float, help="seconds to wait for the drain (default: 2 x messages x interval + 120)"
    )
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379", help="postgres backend: broker and limiter")
    p.add_argument("--redis-db", type=int, help="Redis database number (default: the highest empty one)")
    p.add_argument("--keep-logs", action="store_true", help="print the gunicorn and qcluster logs' tails at the end")
    p.add_argument("--django", help=argparse.SUPPRESS)  # setup | warm | drain, run in a child process
    args = p.parse_args()
    if args.timeout is None:
        args.timeout = 2 * args.messages * args.interval + 120
    return args


def main() -> int:
    args = parse_args()
    if args.django:
        django_side(args.django, args.messages, args.timeout)
        return 0
    print(versions(args))
    print(
        f"{args.messages} messages to #{CHANNEL}, channel limit {args.interval} s (sandbox and our pacing), "
        f"{args.workers} qcluster workers, gunicorn {args.web_workers} sync workers, backend {args.backend}",
        flush=True,
    )
    with backend(args) as (env, var_dir, port):
        started = time.monotonic()
        setup_result = call_django(env, "setup", args)
        print(f"  setup: {setup_result['deliveries']} deliveries in {time.monotonic() - started:.0f} s", flush=True)
        logs = {"gunicorn": var_dir / "gunicorn.log", "qcluster": var_dir / "qcluster.log", "app": var_dir / "app.log"}
        try:
            with gunicorn(env, port, args, logs["gunicorn"]):
                call_django(env, "warm", args)
                with qcluster(env, logs["qcluster"]):
                    result = call_django(env, "drain", args)
        finally:
            if args.keep_logs:
                for name, path in logs.items():
                    if path.exists():
                        print(f"--- {name} log (tail) ---\n{path.read_text(errors='replace')[-4000:]}")
        if "error" in result:
            print(f"PROBLEM: {result['error']}")
            return 1
        ok = report(result, args)
    lost = max(result["messages"] - result["statuses"].get("succeeded", 0), result["missing"])
    if lost or result["duplicates"]:
        print("FAILED: messages were lost or posted twice")
        return 1
    print("targets met" if ok else "no message lost or duplicated, but a target was missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
