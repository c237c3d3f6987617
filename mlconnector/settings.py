"""Django settings, driven by the environment.

Defaults give the embedded demo: SQLite (WAL) + the django-q2 ORM broker + the sandbox providers.
DATABASE_URL switches to PostgreSQL, REDIS_URL switches django-q2 and the cache to Redis, and
MLCONNECTOR_ENV=production turns on the HTTPS hardening and refuses to start without real keys.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MLCONNECTOR_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


ENVIRONMENT = os.environ.get("MLCONNECTOR_ENV", "development")
PRODUCTION = ENVIRONMENT == "production"


def _persistent_secret(env_name: str, filename: str, *, generate) -> str:
    """Read a secret from the environment; outside production keep a generated one in var/.

    The demo must start with no configuration, and restarting it must not make the stored
    credentials undecryptable, so the generated value is written once and reused.
    """
    value = os.environ.get(env_name)
    if value:
        return value
    if PRODUCTION:
        raise RuntimeError(f"{env_name} must be set when MLCONNECTOR_ENV=production")
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(generate())
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _persistent_secret("MLCONNECTOR_SECRET_KEY", "secret_key", generate=lambda: secrets.token_urlsafe(50))
# Encryption keys for credentials and payloads, separate from SECRET_KEY. Comma-separated:
# the first encrypts, every one decrypts, so a new key can be put in front of the old one and
# `manage.py rotate_encryption_key` re-encrypts every row before the old key is dropped.
# MLCONNECTOR_ENCRYPTION_KEY (one key) is read only when MLCONNECTOR_ENCRYPTION_KEYS is not set.
MLCONNECTOR_ENCRYPTION_KEYS = env_list("MLCONNECTOR_ENCRYPTION_KEYS", []) or [
    _persistent_secret("MLCONNECTOR_ENCRYPTION_KEY", "encryption_key", generate=lambda: secrets.token_urlsafe(32))
]

DEBUG = env_bool("MLCONNECTOR_DEBUG", False)
ALLOWED_HOSTS = env_list("MLCONNECTOR_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("MLCONNECTOR_CSRF_TRUSTED_ORIGINS", [])

# Where providers reach us (OAuth redirect URIs, webhook callback URIs).
MLCONNECTOR_PUBLIC_URL = os.environ.get("MLCONNECTOR_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "mlconnector.tenants",
    "mlconnector.connections",
    "mlconnector.audit",
    "mlconnector.webhooks",
    "mlconnector.pipeline",
    "mlconnector.api",
    "integrations.sandbox",
    # Integrations: one line each. Registration is explicit: the app's IntegrationConfig.
    "integrations.freshbooks",
    "integrations.slack",
    "integrations.monday",
    "integrations.gocardless",
    "integrations.salesforce",
    "integrations.hubspot",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Outside CommonMiddleware, so it also sees the slash redirect it would send for an API path.
    "mlconnector.api.v1.errors.ApiErrorBodies",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mlconnector.tenants.middleware.ActiveTenantMiddleware",
    "mlconnector.navigation.ErrorPages",
]

ROOT_URLCONF = "mlconnector.urls"
WSGI_APPLICATION = "mlconnector.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mlconnector.tenants.context.tenant_context",
                "mlconnector.navigation.section",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("MLCONNECTOR_SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            # Reopening the file (and re-running the PRAGMAs, and checkpointing the WAL when the
            # last connection closes) cost more than the webhook insert itself.
            "CONN_MAX_AGE": 600,
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE transactions
                # take the write lock up front so two writers queue instead of deadlocking.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker ---------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "mlconnector_cache"}}

Q_WORKERS = int(os.environ.get("MLCONNECTOR_WORKERS", "4"))
# django-q2 only dispatches; the database owns delivery state (see pipeline/dispatcher.py).
# The traps (django-q issues #183, #307, #327): with a broker that re-delivers unacknowledged
# tasks, a task still queued or running after `retry` seconds runs a second time. So:
# - `timeout` caps every task; deliveries finish well inside it (HTTP timeouts are 30 s);
# - prefetch is one task per worker (queue_limit = workers, bulk = 1), so a task waits at most one
#   task's duration locally before it starts;
# - `retry` exceeds timeout x (1 + queue_limit / workers) so nothing is re-delivered while alive;
# - max_attempts = 1 and ack_failures: a failed task is never re-run by the broker; our sweeper
#   decides, from the database, whether the work is retried.
Q_CLUSTER = {
    "name": "mlconnector",
    "workers": Q_WORKERS,
    "timeout": 120,
    "retry": 360,
    "max_attempts": 1,
    "ack_failures": True,
    "queue_limit": Q_WORKERS,
    "bulk": 1,
    "catch_up": False,
    "save_limit": 500,
    "poll": 0.2,
    # Workers are never recycled: the worker supervisor replaces the whole cluster when any of its
    # processes exits (pipeline/supervisor.py), so a voluntary exit would cost a restart.
    "recycle": 0,
    "label": "Task queue",
    "sync": env_bool("MLCONNECTOR_Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

REST_FRAMEWORK = {
    # Personal API tokens (Bearer) for scripts; the browser's session (with CSRF) keeps working.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "mlconnector.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    # One error body for every failure: {"error": {"code", "message", "fields"}}.
    "EXCEPTION_HANDLER": "mlconnector.api.v1.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# Calls one API token (or one signed-in person) may make per window, as a bucket that refills evenly.
MLCONNECTOR_API_RATE_LIMIT = int(os.environ.get("MLCONNECTOR_API_RATE_LIMIT", "600"))
MLCONNECTOR_API_RATE_WINDOW = float(os.environ.get("MLCONNECTOR_API_RATE_WINDOW", "60"))
SPECTACULAR_SETTINGS = {
    "TITLE": "ml-connector API",
    "DESCRIPTION": (
        "Everything a tenant does in the browser, scripted. Authenticate with a personal API token "
        "(`Authorization: Bearer mlc_…`, made on the API tokens page); it acts in its tenant with its "
        "user's role. Lists are cursor-paged; every failure answers "
        '`{"error": {"code", "message", "fields"}}`; POSTs accept an `Idempotency-Key`.'
    ),
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["mlconnector.api.v1.schema.drop_format_suffixes"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mlconnector.api.v1.schema.add_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "mlconnector.connections.models.Connection.Status",
        "EventStatusEnum": "mlconnector.webhooks.models.InboundEvent.Status",
        "DeliveryStatusEnum": "mlconnector.pipeline.models.Delivery.Status",
        "BackfillStatusEnum": "mlconnector.pipeline.models.Backfill.Status",
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic target in production; outside it whitenoise serves from the app folders instead.
STATIC_ROOT = os.environ.get("MLCONNECTOR_STATIC_ROOT") or (str(BASE_DIR / "staticfiles") if PRODUCTION else None)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production whitenoise serves straight from the app folders: no collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = os.environ.get("MLCONNECTOR_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("MLCONNECTOR_FROM_EMAIL", "ml-connector <noreply@ml-connector.invalid>")

# --- HTTPS hardening (on in production, or whenever MLCONNECTOR_HTTPS=1) -------------------------
HTTPS = env_bool("MLCONNECTOR_HTTPS", PRODUCTION)
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Webhook senders treat a redirect as a failed delivery (GoCardless says so explicitly).
    SECURE_REDIRECT_EXEMPT = [r"^hooks/"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("MLCONNECTOR_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- ml-connector behaviour ------------------------------------------------------------------
# The fake providers under /sandbox/: on for the demo and tests, off in production.
MLCONNECTOR_SANDBOX = env_bool("MLCONNECTOR_SANDBOX", not PRODUCTION)
MLCONNECTOR_SANDBOX_URL = os.environ.get("MLCONNECTOR_SANDBOX_URL", MLCONNECTOR_PUBLIC_URL + "/sandbox").rstrip("/")
# The fakes' URL map, mounted at /sandbox/ when MLCONNECTOR_SANDBOX is on (a name, so the core imports nothing from it).
MLCONNECTOR_SANDBOX_URLCONF = "integrations.sandbox.urls"
# A dotted path to a function that mounts a transport on each outbound requests.Session ("" = the network).
MLCONNECTOR_HTTP_TRANSPORT = os.environ.get("MLCONNECTOR_HTTP_TRANSPORT", "")

MLCONNECTOR_WEBHOOK_MAX_BYTES = int(os.environ.get("MLCONNECTOR_WEBHOOK_MAX_BYTES", str(64 * 1024)))
# Rejected webhooks get an audit row each, up to this many per endpoint and minute (then a log line).
MLCONNECTOR_REJECTED_AUDIT_PER_MINUTE = int(os.environ.get("MLCONNECTOR_REJECTED_AUDIT_PER_MINUTE", "60"))
# Retries: exponential backoff with full jitter, capped, until the horizon (>= 24 h) has passed;
# MAX_ATTEMPTS is only a safety valve, the horizon is what normally ends retrying.
MLCONNECTOR_RETRY_BASE_SECONDS = float(os.environ.get("MLCONNECTOR_RETRY_BASE_SECONDS", "30"))
MLCONNECTOR_RETRY_CAP_SECONDS = float(os.environ.get("MLCONNECTOR_RETRY_CAP_SECONDS", str(60 * 60)))
MLCONNECTOR_RETRY_HORIZON_SECONDS = float(os.environ.get("MLCONNECTOR_RETRY_HORIZON_SECONDS", str(26 * 60 * 60)))
MLCONNECTOR_MAX_ATTEMPTS = int(os.environ.get("MLCONNECTOR_MAX_ATTEMPTS", "200"))
# A delivery whose worker died this many times is failed instead of killing another worker.
MLCONNECTOR_MAX_WORKER_DEATHS = int(os.environ.get("MLCONNECTOR_MAX_WORKER_DEATHS", "3"))
# A running delivery or event whose lease is older than this was abandoned by a dead worker.
MLCONNECTOR_LEASE_SECONDS = int(os.environ.get("MLCONNECTOR_LEASE_SECONDS", str(Q_CLUSTER["timeout"] + 30)))
# Under a worker supervisor (manage.py worker), which renews its workers' leases every
# MLCONNECTOR_NODE_HEARTBEAT seconds, a lease can be short: work held by a dead worker is taken up
# again within this many seconds.
MLCONNECTOR_SUPERVISED_LEASE_SECONDS = int(os.environ.get("MLCONNECTOR_SUPERVISED_LEASE_SECONDS", "20"))
MLCONNECTOR_NODE_HEARTBEAT = float(os.environ.get("MLCONNECTOR_NODE_HEARTBEAT", "2"))
# How often the dispatcher (in the worker supervisor holding its lease) looks for due work.
MLCONNECTOR_DISPATCH_INTERVAL = float(os.environ.get("MLCONNECTOR_DISPATCH_INTERVAL", "0.5"))
# The supervisor's watchdog: work handed out STALL seconds ago still waiting while its cluster has
# room and takes nothing, for WINDOW seconds, means the cluster is stuck: it is replaced.
MLCONNECTOR_WATCHDOG_STALL = float(os.environ.get("MLCONNECTOR_WATCHDOG_STALL", "20"))
MLCONNECTOR_WATCHDOG_WINDOW = float(os.environ.get("MLCONNECTOR_WATCHDOG_WINDOW", "10"))
# How long a cluster being replaced, or stopped on SIGTERM, may finish its running tasks before
# what is left is killed (and handed back). STOP stays inside honcho's 5 s kill timeout.
MLCONNECTOR_WORKER_RESTART_GRACE = float(os.environ.get("MLCONNECTOR_WORKER_RESTART_GRACE", "5"))
MLCONNECTOR_WORKER_STOP_GRACE = float(os.environ.get("MLCONNECTOR_WORKER_STOP_GRACE", "3.5"))
# The health check (manage.py health, /health/workers) fails when due work has not been handed out
# for UNDISPATCHED seconds, handed-out work has not been started while no worker made progress for
# UNSTARTED seconds, or a node's workers took nothing while work waited for STALLED seconds.
MLCONNECTOR_HEALTH_UNDISPATCHED_SECONDS = float(os.environ.get("MLCONNECTOR_HEALTH_UNDISPATCHED_SECONDS", "30"))
MLCONNECTOR_HEALTH_UNSTARTED_SECONDS = float(os.environ.get("MLCONNECTOR_HEALTH_UNSTARTED_SECONDS", "60"))
MLCONNECTOR_HEALTH_STALLED_SECONDS = float(os.environ.get("MLCONNECTOR_HEALTH_STALLED_SECONDS", "20"))
# Waits shorter than this are slept through inline (idempotent calls only).
MLCONNECTOR_MAX_INLINE_WAIT = float(os.environ.get("MLCONNECTOR_MAX_INLINE_WAIT", "5"))
MLCONNECTOR_HTTP_TIMEOUT = (5.0, float(os.environ.get("MLCONNECTOR_HTTP_READ_TIMEOUT", "30")))
MLCONNECTOR_AUDIT_RETENTION_DAYS = int(os.environ.get("MLCONNECTOR_AUDIT_RETENTION_DAYS", "400"))

# --- Providers -------------------------------------------------------------------------------
_SANDBOX = MLCONNECTOR_SANDBOX_URL
FRESHBOOKS_CLIENT_ID = os.environ.get("FRESHBOOKS_CLIENT_ID", "" if PRODUCTION else "sandbox-freshbooks-client")
FRESHBOOKS_CLIENT_SECRET = os.environ.get(
    "FRESHBOOKS_CLIENT_SECRET", "" if PRODUCTION else "sandbox-freshbooks-client-secret"
)
FRESHBOOKS_AUTH_URL = os.environ.get(
    "FRESHBOOKS_AUTH_URL", "https://auth.freshbooks.com" if PRODUCTION else f"{_SANDBOX}/freshbooks/auth"
).rstrip("/")
FRESHBOOKS_API_URL = os.environ.get(
    "FRESHBOOKS_API_URL", "https://api.freshbooks.com" if PRODUCTION else f"{_SANDBOX}/freshbooks/api"
).rstrip("/")
# Where people open a record (messages link back to it); the sandbox console in the demo.
FRESHBOOKS_WEB_URL = os.environ.get(
    "FRESHBOOKS_WEB_URL", "https://my.freshbooks.com" if PRODUCTION else f"{_SANDBOX}/freshbooks/"
)
FRESHBOOKS_SCOPES = env_list(
    "FRESHBOOKS_SCOPES",
    [
        "user:profile:read",
        "user:clients:read",
        "user:invoices:read",
        "user:payments:read",
        "user:payments:write",
        "user:bills:read",
        "user:bill_vendors:read",
        "user:expenses:read",
        # GoCardless's fees are recorded as one expense per payout.
        "user:expenses:write",
    ],
)
# Webhooks registered for every FreshBooks connection, on top of what its tenant's integrations
# consume, so the audit trail shows the books' activity as soon as FreshBooks is connected.
FRESHBOOKS_WEBHOOK_EVENTS = env_list(
    "FRESHBOOKS_WEBHOOK_EVENTS", ["invoice.create", "invoice.update", "payment.create"]
)
# The polling backstop: how far back each sweep re-reads (FreshBooks filters by day, and
# reportedly not everywhere), and how often it runs.
FRESHBOOKS_POLL_OVERLAP_SECONDS = int(os.environ.get("FRESHBOOKS_POLL_OVERLAP_SECONDS", str(36 * 60 * 60)))
FRESHBOOKS_POLL_MINUTES = int(os.environ.get("FRESHBOOKS_POLL_MINUTES", "15"))
# callback.verify handshakes acted on per webhook endpoint and minute (over it: 429, nothing stored).
FRESHBOOKS_HANDSHAKES_PER_MINUTE = int(os.environ.get("FRESHBOOKS_HANDSHAKES_PER_MINUTE", "30"))
# The payment type a payment collected elsewhere (GoCardless direct debit) is recorded with. The new
# API's list of types is UNCONFIRMED (vendors doc §1.5): "Bank Transfer" was valid in Classic.
FRESHBOOKS_COLLECTED_PAYMENT_TYPE = os.environ.get("FRESHBOOKS_COLLECTED_PAYMENT_TYPE", "Bank Transfer")
# UNCONFIRMED: FreshBooks publishes no Retry-After; wait this long after a 429 without one.
FRESHBOOKS_DEFAULT_RETRY_AFTER = float(os.environ.get("FRESHBOOKS_DEFAULT_RETRY_AFTER", "30"))

# Slack (vendors doc §3): OAuth v2 on slack.com, Web API methods under /api.
SLACK_CLIENT_ID = os.environ.get("SLACK_CLIENT_ID", "" if PRODUCTION else "sandbox-slack-client")
SLACK_CLIENT_SECRET = os.environ.get("SLACK_CLIENT_SECRET", "" if PRODUCTION else "sandbox-slack-client-secret")
SLACK_AUTH_URL = os.environ.get(
    "SLACK_AUTH_URL", "https://slack.com/oauth/v2/authorize" if PRODUCTION else f"{_SANDBOX}/slack/oauth/v2/authorize"
)
SLACK_API_URL = os.environ.get(
    "SLACK_API_URL", "https://slack.com/api" if PRODUCTION else f"{_SANDBOX}/slack/api"
).rstrip("/")
SLACK_SCOPES = env_list("SLACK_SCOPES", ["chat:write", "chat:write.public", "channels:read", "groups:read"])
# chat.postMessage allows "about 1 message per second per channel" (Special tier): our pacing.
SLACK_CHANNEL_INTERVAL = float(os.environ.get("SLACK_CHANNEL_INTERVAL", "1.0"))
# A post waits inline for its channel slot up to this long; a longer queue goes back to the pipeline.
SLACK_MAX_PACING_WAIT = float(os.environ.get("SLACK_MAX_PACING_WAIT", "20"))
# Added to the interval so network jitter never lands two posts inside Slack's window.
SLACK_PACING_MARGIN = float(os.environ.get("SLACK_PACING_MARGIN", "0.03"))

# Monday.com (vendors doc §1): GraphQL on api.monday.com/v2, OAuth on auth.monday.com.
MONDAY_CLIENT_ID = os.environ.get("MONDAY_CLIENT_ID", "" if PRODUCTION else "sandbox-monday-client")
MONDAY_CLIENT_SECRET = os.environ.get("MONDAY_CLIENT_SECRET", "" if PRODUCTION else "sandbox-monday-client-secret")
MONDAY_AUTH_URL = os.environ.get(
    "MONDAY_AUTH_URL", "https://auth.monday.com" if PRODUCTION else f"{_SANDBOX}/monday/auth"
).rstrip("/")
# UNCONFIRMED: the newer OAuth 2.1 flow moves the token endpoint to /oauth_ms/oauth/token.
MONDAY_TOKEN_PATH = os.environ.get("MONDAY_TOKEN_PATH", "/oauth2/token")
MONDAY_API_URL = os.environ.get(
    "MONDAY_API_URL", "https://api.monday.com/v2" if PRODUCTION else f"{_SANDBOX}/monday/v2"
).rstrip("/")
MONDAY_API_VERSION = os.environ.get("MONDAY_API_VERSION", "2026-10")
MONDAY_SCOPES = env_list("MONDAY_SCOPES", ["me:read", "boards:read", "boards:write"])
# Links to what was written, on the event page. Slack: the message's permalink (slack.com/archives
# redirects a signed-in person to it). Monday: the item; {slug} is the account's subdomain, saved at
# connect (UNCONFIRMED for every account type, hence a setting).
SLACK_MESSAGE_URL = os.environ.get(
    "SLACK_MESSAGE_URL",
    "https://slack.com/archives/{channel}/p{ts_digits}"
    if PRODUCTION
    else f"{_SANDBOX}/slack/channels/{{channel}}/#m{{ts}}",
)
MONDAY_ITEM_URL = os.environ.get(
    "MONDAY_ITEM_URL",
    "https://{slug}.monday.com/boards/{board}/pulses/{item}"
    if PRODUCTION
    else f"{_SANDBOX}/monday/boards/{{board}}/#item-{{item}}",
)

# GoCardless (vendors doc §2): an access token per environment, GoCardless-Version on every call.
GOCARDLESS_API_URLS = {
    "live": os.environ.get(
        "GOCARDLESS_LIVE_API_URL", "https://api.gocardless.com" if PRODUCTION else f"{_SANDBOX}/gocardless/live"
    ).rstrip("/"),
    "sandbox": os.environ.get(
        "GOCARDLESS_SANDBOX_API_URL",
        "https://api-sandbox.gocardless.com" if PRODUCTION else f"{_SANDBOX}/gocardless/sandbox",
    ).rstrip("/"),
}
GOCARDLESS_VERSION = os.environ.get("GOCARDLESS_VERSION", "2015-07-06")
# Partner OAuth (vendors doc §2.2), when the server has a GoCardless partner app, in one environment.
GOCARDLESS_CLIENT_ID = os.environ.get("GOCARDLESS_CLIENT_ID", "" if PRODUCTION else "sandbox-gocardless-client")
GOCARDLESS_CLIENT_SECRET = os.environ.get(
    "GOCARDLESS_CLIENT_SECRET", "" if PRODUCTION else "sandbox-gocardless-client-secret"
)
GOCARDLESS_OAUTH_ENVIRONMENT = os.environ.get("GOCARDLESS_OAUTH_ENVIRONMENT", "sandbox")
GOCARDLESS_CONNECT_URL = os.environ.get(
    "GOCARDLESS_CONNECT_URL",
    {"live": "https://connect.gocardless.com", "sandbox": "https://connect-sandbox.gocardless.com"}[
        GOCARDLESS_OAUTH_ENVIRONMENT
    ]
    if PRODUCTION
    else f"{_SANDBOX}/gocardless/connect",
).rstrip("/")
# How often each connection reads /events (the webhooks' fallback) and /payouts.
GOCARDLESS_EVENTS_POLL_MINUTES = int(os.environ.get("GOCARDLESS_EVENTS_POLL_MINUTES", "10"))
GOCARDLESS_PAYOUTS_POLL_HOURS = int(os.environ.get("GOCARDLESS_PAYOUTS_POLL_HOURS", "24"))
# The FreshBooks expense category GoCardless's fees are booked to (a connection may hold another).
GOCARDLESS_FEES_CATEGORY = os.environ.get("GOCARDLESS_FEES_CATEGORY", "Bank Fees")
# Salesforce (vendors doc §3): each org at its own My Domain host. Where a host is reached: the host
# itself in production; "" outside it reaches https://<host> through the sandbox (/sandbox/salesforce/<host>).
SALESFORCE_BASE_URL = os.environ.get("SALESFORCE_BASE_URL", "https://{host}" if PRODUCTION else "")
# 403 REQUEST_LIMIT_EXCEEDED (the org's rolling 24-hour allowance) is retried after this many seconds.
SALESFORCE_LIMIT_RETRY_SECONDS = float(os.environ.get("SALESFORCE_LIMIT_RETRY_SECONDS", "900"))
# Below this share of the daily allowance left, calls to the org are spaced PAUSE seconds apart.
SALESFORCE_LOW_ALLOWANCE = float(os.environ.get("SALESFORCE_LOW_ALLOWANCE", "0.05"))
SALESFORCE_LOW_ALLOWANCE_PAUSE = float(os.environ.get("SALESFORCE_LOW_ALLOWANCE_PAUSE", "2"))
# HubSpot (vendors doc §2): CRM REST on api.hubapi.com, private app tokens (Authorization: Bearer pat-…).
HUBSPOT_API_URL = os.environ.get(
    "HUBSPOT_API_URL", "https://api.hubapi.com" if PRODUCTION else f"{_SANDBOX}/hubspot/api"
).rstrip("/")
# A record as a person opens it; {hub}, {type} (contacts), {type_id} (0-1) and {id}.
HUBSPOT_RECORD_URL = os.environ.get(
    "HUBSPOT_RECORD_URL",
    "https://app.hubspot.com/contacts/{hub}/record/{type_id}/{id}"
    if PRODUCTION
    else f"{_SANDBOX}/hubspot/records/{{type}}/{{id}}/",
)
# Deliveries of one hub written per batch call (HubSpot's batch endpoints take at most 100 inputs).
HUBSPOT_BATCH_SIZE = min(100, int(os.environ.get("HUBSPOT_BATCH_SIZE", "100")))
# Real-time deliveries are due at the end of a window this long, so a burst shares batch calls.
HUBSPOT_BATCH_WINDOW = float(os.environ.get("HUBSPOT_BATCH_WINDOW", "2"))
# Requests per 10 s assumed until a hub's X-HubSpot-RateLimit-Max says otherwise (Free/Starter: 100).
HUBSPOT_DEFAULT_BURST = int(os.environ.get("HUBSPOT_DEFAULT_BURST", "100"))
# Calls are paced this much slower than the hub's budget, so jitter never lands one over it.
HUBSPOT_PACING_MARGIN = float(os.environ.get("HUBSPOT_PACING_MARGIN", "0.03"))
# A batch's call waits this long for its slot of the budget before the batch goes back to the pipeline.
HUBSPOT_MAX_PACING_WAIT = float(os.environ.get("HUBSPOT_MAX_PACING_WAIT", "20"))
# Search has its own limit (4/s per token in HubSpot's guidelines, 5/s in later material: UNCONFIRMED).
HUBSPOT_SEARCH_PER_SECOND = float(os.environ.get("HUBSPOT_SEARCH_PER_SECOND", "4"))
# 400 categories that mean "this hub cannot take invoices" (UNCONFIRMED; a 403 always does).
HUBSPOT_INVOICE_UNAVAILABLE_CATEGORIES = env_list(
    "HUBSPOT_INVOICE_UNAVAILABLE_CATEGORIES", ["FEATURE_NOT_ENABLED", "FEATURE_NOT_AVAILABLE", "MISSING_SCOPES"]
)
HUBSPOT_TOKEN_PREFIXES = env_list("HUBSPOT_TOKEN_PREFIXES", ["pat-"])
# OAuth for a public app (vendors doc §2.1), offered beside the private app token only when the server has
# an app: its client id and secret (the sandbox has one outside production, so `make run` shows it).
HUBSPOT_CLIENT_ID = os.environ.get("HUBSPOT_CLIENT_ID", "" if PRODUCTION else "sandbox-hubspot-client")
HUBSPOT_CLIENT_SECRET = os.environ.get("HUBSPOT_CLIENT_SECRET", "" if PRODUCTION else "sandbox-hubspot-client-secret")
# The consent page (EU accounts may use app-eu1.hubspot.com).
HUBSPOT_AUTH_URL = os.environ.get(
    "HUBSPOT_AUTH_URL",
    "https://app.hubspot.com/oauth/authorize" if PRODUCTION else f"{_SANDBOX}/hubspot/oauth/authorize",
)
# The token endpoint on the API host: v1 is deprecated on 2027-02-16; its replacement is /oauth/2026-03/token
# (the same form-encoded parameters in the body), so the path is a setting.
HUBSPOT_TOKEN_PATH = os.environ.get("HUBSPOT_TOKEN_PATH", "/oauth/v1/token")
# Required scopes the public app asks for (the same as the private app's), and optional ones.
HUBSPOT_SCOPES = env_list(
    "HUBSPOT_SCOPES",
    [
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.objects.companies.read",
        "crm.objects.companies.write",
        "crm.objects.commercepayments.read",
        "crm.objects.commercepayments.write",
        "crm.schemas.contacts.write",
        "crm.schemas.companies.write",
        "crm.schemas.commercepayments.write",
    ],
)
# Invoices (and their line items) may be refused by a hub (invoice writes in beta): asked as optional
# scopes so the install works without them, and the invoice check reports what is missing.
HUBSPOT_OPTIONAL_SCOPES = env_list(
    "HUBSPOT_OPTIONAL_SCOPES",
    [
        "crm.objects.invoices.read",
        "crm.objects.invoices.write",
        "crm.objects.line_items.read",
        "crm.objects.line_items.write",
        "crm.schemas.invoices.write",
        "crm.schemas.line_items.write",
    ],
)
# Public OAuth apps: 110 requests per 10 s per installed account, and no daily headers (vendors doc §2.7).
HUBSPOT_OAUTH_DEFAULT_BURST = int(os.environ.get("HUBSPOT_OAUTH_DEFAULT_BURST", "110"))

# --- Logging: one structured line per event, secrets scrubbed by a filter on every handler ----
MLCONNECTOR_LOG_FILE = os.environ.get("MLCONNECTOR_LOG_FILE", "")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "mlconnector.audit.redaction.RedactingFilter"},
        "forbidden": {"()": "mlconnector.navigation.OneLineForbidden"},
    },
    "formatters": {"line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "line", "filters": ["redact"]},
        **(
            {
                "file": {
                    "class": "logging.FileHandler",
                    "filename": MLCONNECTOR_LOG_FILE,
                    "formatter": "line",
                    "filters": ["redact"],
                }
            }
            if MLCONNECTOR_LOG_FILE
            else {}
        ),
    },
    "root": {
        "handlers": ["console", *(["file"] if MLCONNECTOR_LOG_FILE else [])],
        "level": os.environ.get("MLCONNECTOR_LOG_LEVEL", "INFO"),
    },
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden"]},
        "urllib3": {"level": "WARNING"},
    },
}
