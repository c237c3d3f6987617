"""Signed-webhook acks/s through gunicorn, as a ratio to a bare WSGI app, on SQLite and PostgreSQL."""

# Run: `make bench-ingest` (= .venv/bin/python bench/ingest.py). On demand only, never in the tests.
#
# For each backend: a fresh database (migrated), one active FreshBooks connection with verified
# callbacks, N distinct requests signed here (not with our signing code, so a bug there cannot hide),
# then the same load from wrk against gunicorn serving bench/bare_wsgi.py and mlconnector.wsgi with
# identical gunicorn settings, in the same run. Absolute numbers depend on the machine; the ratio is
# what is compared with the target. Afterwards the stored InboundEvents are counted: every 200 must
# have a row behind it.

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
LUA = BENCH / "signed_webhooks.lua"
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
TARGETS = {"sqlite": 0.20, "postgres": 0.35}
ACCOUNT_ID = "BENCH1"
# A FreshBooks callback exists per event, each with its own verifier; these are known fakes.
EVENTS = ("invoice.create", "invoice.update", "payment.create", "client.create")
VERIFIERS = {event: f"bench-fake-verifier-{event}" for event in EVENTS}
APPS = {
    "bare": ("bench.bare_wsgi:application", "mlconnector.settings"),
    "ours": ("mlconnector.wsgi:application", "mlconnector.settings"),
    "naive": ("bench.naive_wsgi:application", "bench.naive_settings"),
}
# Variables that could point a child at the developer's database, cache or keys.
_INHERITED_PREFIXES = ("MLCONNECTOR_", "DATABASE_URL", "REDIS_URL", "DJANGO_", "FRESHBOOKS_")


# --- the Django side (runs in a child process with the backend's environment) -----------------


def django_side(command: str) -> None:
    """`setup`: migrate and create the fixtures; `count:LOW-HIGH`: InboundEvents with LOW <= object_id < HIGH."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from mlconnector.webhooks.models import InboundEvent

    if command.startswith("count:"):
        from django.db.models import BigIntegerField
        from django.db.models.functions import Cast

        low, high = (int(n) for n in command.removeprefix("count:").split("-"))
        numeric = InboundEvent.objects.annotate(n=Cast("object_id", BigIntegerField()))
        stored = numeric.filter(n__gte=low, n__lt=high).count()
        print(json.dumps({"inbound_events": stored}))
        return
    from django.core.management import call_command
    from django.utils import timezone

    from integrations.freshbooks.models import FreshBooksCallback
    from mlconnector.connections.models import Connection
    from mlconnector.tenants.models import Tenant

    call_command("migrate", interactive=False, verbosity=0)
    tenant = Tenant.objects.create(name="Bench Ltd", slug="bench")
    conn = Connection.objects.create(
        tenant=tenant,
        provider="freshbooks",
        name="Bench books",
        status=Connection.Status.ACTIVE,
        credentials={"access_token": "bench-access-token", "refresh_token": "bench-refresh-token"},
        config={"account_id": ACCOUNT_ID, "business_name": "Bench Ltd"},
        external_account_id=ACCOUNT_ID,
    )
    for n, event in enumerate(EVENTS, start=1):
        FreshBooksCallback.objects.create(
            tenant=tenant,
            connection=conn,
            callback_id=str(9000 + n),
            event=event,
            verifier=VERIFIERS[event],
            verified=True,
            verified_at=timezone.now(),
        )
    print(json.dumps({"endpoint_key": conn.endpoint_key}))


def call_django(env: dict[str, str], command: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--django", command], env=env, cwd=ROOT, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise RuntimeError(f"django {command} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- requests --------------------------------------------------------------------------------


def sign(fields: list[tuple[str, str]], verifier: str) -> str:
    # FreshBooks' scheme, written out independently of integrations/freshbooks/signatures.py:
    # base64(HMAC-SHA256(verifier, json.dumps(form fields as a dict, in wire order))).
    message = json.dumps(dict(fields)).encode()
    return base64.b64encode(hmac.new(verifier.encode(), message, hashlib.sha256).digest()).decode()


# Each inserting app gets its own object_id range, so the rows each one stored can be counted apart.
OBJECT_ID_BASE = {"ours": 1_000_000, "naive": 5_000_000}
OBJECT_ID_SPAN = 4_000_000


def write_requests(path: Path, endpoint_key: str, count: int, base: int) -> None:
    """One "path<TAB>signature<TAB>body" line per request; every object_id differs, so each is an insert."""
    hook_path = f"/hooks/freshbooks/{endpoint_key}/"
    with path.open("w") as out:
        for i in range(count):
            event = EVENTS[i % len(EVENTS)]
            fields = [
                ("name", event),
                ("object_id", str(base + i)),
                ("account_id", ACCOUNT_ID),
                ("business_id", "6543"),
                ("identity_id", "1234"),
                ("user_id", "1"),
            ]
            out.write(f"{hook_path}\t{sign(fields, VERIFIERS[event])}\t{urllib.parse.urlencode(fields)}\n")


# --- load generation -------------------------------------------------------------------------


@dataclass
class Load:
    duration_s: float
    ok: int
    other_status: int
    socket_errors: int
    sent: int
    next_first: int
    wrapped: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0


def ensure_wrk() -> str | None:
    """wrk's path, installing Debian's package when we are root; None means the Python fallback."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: apt-get install -y wrk ...", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    print(
        "WARNING: wrk is not installed (sudo apt-get install -y wrk); using the Python load generator, "
        "which competes with the servers for the CPU and skews the ratios.",
        flush=True,
    )
    return None


def run_wrk(wrk: str, port: int, data: Path, first: int, seconds: int, connections: int, threads: int) -> Load:
    env = {**os.environ, "BENCH_REQUESTS": str(data), "BENCH_FIRST": str(first), "BENCH_THREADS": str(threads)}
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(LUA)]
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}/"], env=env, capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    r = json.loads(line.removeprefix("BENCH_JSON "))
    lat = r["latency_us"]
    return Load(
        duration_s=r["duration_us"] / 1e6,
        ok=r["ok"],
        other_status=r["other_status"],
        socket_errors=sum(v for k, v in r["errors"].items() if k != "status"),
        sent=r["sent"],
        # Thread t sends first+t-1, first+t-1+threads, ...: nothing below this index is reused.
        next_first=first + threads * r["sent_max_per_thread"],
        wrapped=r["wrapped"],
        p50_ms=lat["p50"] / 1000,
        p90_ms=lat["p90"] / 1000,
        p99_ms=lat["p99"] / 1000,
    )


def run_python_load(port: int, data: Path, first: int, seconds: float, connections: int) -> Load:
    """Fallback when wrk is missing: asyncio, one request per connection, like wrk against sync gunicorn."""
    lines = data.read_text().splitlines()[first:]
    raw = []
    for line in lines:
        hook_path, signature, body = line.split("\t")
        raw.append(
            (
                f"POST {hook_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nUser-Agent: FreshBooks-Webhooks/bench\r\n"
                f"X-FreshBooks-Hmac-SHA256: {signature}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n{body}"
            ).encode()
        )
    stats = {"ok": 0, "other": 0, "errors": 0, "sent": 0, "wrapped": 0}
    latencies: list[float] = []

    async def client(deadline: float) -> None:
        while time.monotonic() < deadline:
            index = stats["sent"]
            stats["sent"] += 1
            if index >= len(raw):
                stats["wrapped"] += 1
            started = time.monotonic()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(raw[index % len(raw)])
                response = await reader.read()
                writer.close()
            except OSError:
                stats["errors"] += 1
                continue
            latencies.append(time.monotonic() - started)
            stats["ok" if response.startswith(b"HTTP/1.1 200") else "other"] += 1

    async def run() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client(started + seconds) for _ in range(connections)))
        return time.monotonic() - started

    elapsed = asyncio.run(run())
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else 0.0

    return Load(
        elapsed, stats["ok"], stats["other"], stats["errors"], stats["sent"], first + stats["sent"],
        stats["wrapped"], pct(50), pct(90), pct(99),
    )  # fmt: skip


# --- gunicorn --------------------------------------------------------------------------------


def gunicorn_args(args: argparse.Namespace) -> list[str]:
    # Access logging stays off for both apps: it is a per-request cost that is not the receiver's.
    worker = (
        ["--worker-class", "sync"]
        if args.threads_per_worker <= 1
        else ["--worker-class", "gthread", "--threads", str(args.threads_per_worker)]
    )
    return ["--workers", str(args.workers), *worker, "--backlog", "2048", "--timeout", "60",
            "--log-level", "warning"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict[str, str], args: argparse.Namespace) -> Iterator[int]:
    """Serve `app` on a free port until the block ends; yields the port."""
    port = free_port()
    cmd = [GUNICORN, *gunicorn_args(args), "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), app]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode} while starting {app}")
            try:
                # A GET on a hook path: 405 from ours (no database write), 200 from the bare app.
                with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                    s.sendall(b"GET /hooks/freshbooks/ping/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn serving {app} did not answer within 60 s")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()  # graceful: workers finish the request in hand, so the row count is final
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- one backend: every app served side by side, measured in alternating rounds ----------------


@dataclass
class AppRun:
    app: str
    port: int
    data: Path
    first: int = 0  # the next pre-generated request this app has not been sent (inserting apps)
    warm: list[Load] = field(default_factory=list)
    rounds: list[Load] = field(default_factory=list)
    stored: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def inserts(self) -> bool:
        return self.app != "bare"

    @property
    def rate(self) -> float:
        return statistics.median(r.rate for r in self.rounds)

    @property
    def p50_ms(self) -> float:
        return statistics.median(r.p50_ms for r in self.rounds)

    @property
    def p99_ms(self) -> float:
        return statistics.median(r.p99_ms for r in self.rounds)


def load(run: AppRun, seconds: int, args: argparse.Namespace, wrk: str | None) -> Load:
    # The bare app stores nothing, so it replays from the start; the others never reuse a request.
    first = run.first if run.inserts else 0
    if wrk:
        result = run_wrk(wrk, run.port, run.data, first, seconds, args.connections, args.threads)
    else:
        result = run_python_load(run.port, run.data, first, seconds, args.connections)
    if run.inserts:
        run.first = result.next_first
    return result


def measure_backend(env: dict[str, str], var_dir: Path, args: argparse.Namespace, wrk: str | None) -> dict[str, AppRun]:
    endpoint_key = call_django(env, "setup")["endpoint_key"]
    apps = ["bare", "ours", *(["naive"] if args.naive else [])]
    files = {}
    for app in apps:
        if app != "bare":
            files[app] = var_dir / f"requests-{app}.tsv"
            write_requests(files[app], endpoint_key, args.requests, OBJECT_ID_BASE[app])
    files["bare"] = files["ours"]  # the bare app gets exactly the requests ours gets
    with ExitStack() as servers:
        runs = {}
        for app in apps:
            module, settings_module = APPS[app]
            port = servers.enter_context(gunicorn(module, {**env, "DJANGO_SETTINGS_MODULE": settings_module}, args))
            runs[app] = AppRun(app, port, files[app])
        # Every worker imports its app on first use; the warm-up absorbs that and fills caches.
        for run in runs.values():
            run.warm.append(load(run, args.warmup, args, wrk))
        # Rounds alternate the apps, so a slow spell on the machine hits all of them alike.
        for n in range(args.rounds):
            for run in runs.values():
                run.rounds.append(load(run, args.duration, args, wrk))
            line = "  ".join(f"{a} {r.rounds[-1].rate:6.0f}/s" for a, r in runs.items())
            print(f"  round {n + 1}: {line}  ratio {runs['ours'].rounds[-1].rate / runs['bare'].rounds[-1].rate:.2f}")
    # The servers have stopped gracefully, so every request they accepted is finished.
    for run in runs.values():
        check(run, env)
    return runs


def check(run: AppRun, env: dict[str, str]) -> None:
    phases = run.warm + run.rounds
    for phase in phases:
        if phase.other_status:
            run.problems.append(f"{phase.other_status} responses were not 200")
        if phase.socket_errors:
            run.problems.append(f"{phase.socket_errors} socket errors/timeouts")
        if run.inserts and phase.wrapped:
            run.problems.append("ran out of distinct requests (raise --requests): duplicates were sent")
    if not run.inserts:
        return
    base = OBJECT_ID_BASE[run.app]
    run.stored = call_django(env, f"count:{base}-{base + OBJECT_ID_SPAN}")["inbound_events"]
    acked, sent = sum(p.ok for p in phases), sum(p.sent for p in phases)
    if run.stored < acked:
        run.problems.append(f"LOST: {acked} acknowledged but only {run.stored} stored")
    elif run.stored > sent:
        run.problems.append(f"{run.stored} stored but only {sent} sent")


def paired_ratio(run: AppRun, bare: AppRun) -> float:
    """Median of the per-round ratios: each pair ran seconds apart, in the same conditions."""
    return statistics.median(r.rate / b.rate if b.rate else 0.0 for r, b in zip(run.rounds, bare.rounds, strict=True))


def describe(run: AppRun) -> str:
    rates = [r.rate for r in run.rounds]
    text = (
        f"  {run.app:>5}: {run.rate:6.0f} acks/s median of {len(rates)} (min {min(rates):.0f}, max {max(rates):.0f})"
        f"  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms"
    )
    if run.stored is not None:
        phases = run.warm + run.rounds
        acked, sent = sum(p.ok for p in phases), sum(p.sent for p in phases)
        text += f"\n         stored {run.stored} InboundEvents for {acked} acks (warm-ups included), {sent} sent"
    for problem in dict.fromkeys(run.problems):
        text += f"\n         PROBLEM: {problem}"
    return text


def machine_busy(seconds: float = 1.0) -> float:
    """The share of CPU time spent by anything while the bench is idle: other work skews the ratios."""
    try:

        def sample() -> tuple[int, int]:
            values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            return values[3] + values[4], sum(values)

        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
        return 1 - (idle1 - idle0) / max(1, total1 - total0)
    except (OSError, ValueError, IndexError):
        return 0.0


# --- backends --------------------------------------------------------------------------------


def base_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env.update(
        {
            "MLCONNECTOR_VAR_DIR": str(var_dir),
            "MLCONNECTOR_ENV": "development",
            "MLCONNECTOR_DEBUG": "0",
            "MLCONNECTOR_SANDBOX": "0",
            # A log line per request would be measured too; warnings and errors still show.
            "MLCONNECTOR_LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "mlconnector.settings",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@contextmanager
def backend(name: str, args) -> Iterator[tuple[dict[str, str], Path] | None]:
    with tempfile.TemporaryDirectory(prefix=f"bench-ingest-{name}-") as tmp:
        var_dir = Path(tmp)
        env = base_env(var_dir)
        if name == "sqlite":
            env["MLCONNECTOR_SQLITE_PATH"] = str(var_dir / "bench.sqlite3")
            yield env, var_dir
            return
        try:
            import psycopg
        except ImportError:
            print("  psycopg is not installed: PostgreSQL skipped")
            yield None
            return
        db = f"mlconnector_bench_{os.getpid()}"
        admin_url = args.pg_admin_url
        try:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{db}"')
        except psycopg.Error as exc:
            print(f"  PostgreSQL at {admin_url} is not usable ({exc}): skipped")
            yield None
            return
        try:
            parts = urllib.parse.urlsplit(admin_url)
            env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path=f"/{db}"))
            yield env, var_dir
        finally:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# --- main ------------------------------------------------------------------------------------


def versions(wrk: str | None, args) -> str:
    import django
    import gunicorn as gunicorn_pkg

    wrk_version = "python fallback"
    if wrk:
        first_line = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.splitlines()
        wrk_version = first_line[0].split(" [")[0] if first_line else "wrk"
    pg = ""
    if "postgres" in args.backends:
        try:
            import psycopg

            with psycopg.connect(args.pg_admin_url) as c:
                pg = ", PostgreSQL " + c.execute("SHOW server_version").fetchone()[0].split()[0]
        except Exception:  # noqa: BLE001 - only for the header line
            pg = ", PostgreSQL unreachable"
    return (
        f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, Django {django.__version__}, "
        f"gunicorn {gunicorn_pkg.__version__}, {wrk_version}{pg}"
    )


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    p.add_argument("--duration", type=int, default=5, help="measured seconds per app and round (wrk: whole seconds)")
    p.add_argument("--rounds", type=int, default=3, help="measured rounds, each app once per round")
    p.add_argument("--warmup", type=int, default=3, help="warm-up seconds per app (not measured)")
    p.add_argument("--connections", type=int, default=8, help="concurrent connections (wrk -c)")
    p.add_argument("--threads", type=int, default=1, help="wrk threads: one leaves the servers most of the CPU")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="gunicorn workers (default: one per CPU)")
    p.add_argument(
        "--threads-per-worker", type=int, default=1, help="over 1: gthread workers with this many threads (Procfile)"
    )
    p.add_argument("--requests", type=int, default=120_000, help="distinct signed requests to pre-generate")
    p.add_argument(
        "--loadgen",
        choices=["wrk", "python"],
        default="wrk",
        help="python: the asyncio fallback (it shares the CPU with the servers, so ratios come out higher)",
    )
    p.add_argument("--no-naive", dest="naive", action="store_false", help="skip the naive Django-view baseline")
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--django", help=argparse.SUPPRESS)  # setup | count:LOW-HIGH, run in a child process
    args = p.parse_args()
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    return args


def main() -> int:
    args = parse_args()
    if args.django:
        django_side(args.django)
        return 0
    wrk = ensure_wrk() if args.loadgen == "wrk" else None
    print(versions(wrk, args))
    print(f"gunicorn: {' '.join(gunicorn_args(args))} (same for every app)")
    loadgen = f"wrk -t{args.threads} -c{args.connections}" if wrk else f"python asyncio, {args.connections} conns"
    conn_note = "one request per connection (sync workers close it)" if args.threads_per_worker <= 1 else "keep-alive"
    print(
        f"load: {loadgen}, {conn_note}; per app {args.warmup} s warm-up, then {args.rounds} rounds of "
        f"{args.duration} s alternating the apps; acks/s and p99 are medians over the rounds, "
        "ratio is the median of the per-round ratios\n"
    )
    rows = []
    for name in args.backends:
        print(f"[{name}]", flush=True)
        busy = machine_busy()
        if busy > 0.10:
            print(f"  WARNING: the machine was {busy:.0%} busy before the run; other work skews the numbers")
        with backend(name, args) as ready:
            if ready is None:
                rows.append((name, None))
                continue
            runs = measure_backend(*ready, args, wrk)
        for run in runs.values():
            print(describe(run), flush=True)
        rows.append((name, runs))
        print()

    header = "backend  | ours acks/s | bare acks/s | ratio | ours p99 ms | bare p99 ms | target | pass | naive ratio"
    print(header)
    print("-" * len(header))
    failed = False
    for name, runs in rows:
        if runs is None:
            print(f"{name:<8} | skipped")
            failed = True
            continue
        bare, ours, naive = runs["bare"], runs["ours"], runs.get("naive")
        ratio = paired_ratio(ours, bare)
        target = TARGETS[name]
        ok = ratio >= target and not (ours.problems or bare.problems)
        failed |= not ok
        naive_ratio = f"{paired_ratio(naive, bare):.2f}" if naive is not None else "-"
        print(
            f"{name:<8} | {ours.rate:11.0f} | {bare.rate:11.0f} | {ratio:5.2f} | {ours.p99_ms:11.2f} | "
            f"{bare.p99_ms:11.2f} | {target:6.2f} | {'yes' if ok else 'NO':<4} | {naive_ratio}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
