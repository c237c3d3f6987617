"""Test settings: the real settings, with the sandbox served in-process and django-q2 inline."""

import os
import tempfile

os.environ.setdefault("MLCONNECTOR_VAR_DIR", os.path.join(tempfile.gettempdir(), "mlconnector-test-var"))
os.environ.setdefault("MLCONNECTOR_ENCRYPTION_KEY", "test-encryption-key-not-secret-0000000000")
# Every log line of the run also goes to a file, so a test can grep what was really written.
os.environ.setdefault(
    "MLCONNECTOR_LOG_FILE", os.path.join(tempfile.gettempdir(), f"mlconnector-test-{os.getpid()}.log")
)
os.environ.setdefault("MLCONNECTOR_SECRET_KEY", "test-secret-key-not-secret-000000000000000000000")

from mlconnector.settings import *  # noqa: E402,F403
from mlconnector.settings import DATABASES, INSTALLED_APPS, Q_CLUSTER  # noqa: E402

# Integrations that exist only in the tests: an idempotent sink (testsink), a second event source
# (testsource), a target that takes batches (testbatch), one on client credentials (testcc).
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testsink", "tests.testsource", "tests.testbatch", "tests.testcc"]

# Child processes started by live tests reach this run's live server instead of the in-process one.
MLCONNECTOR_PUBLIC_URL = os.environ.get("MLCONNECTOR_TEST_PUBLIC_URL", "http://testserver")
MLCONNECTOR_SANDBOX = True
MLCONNECTOR_SANDBOX_URL = MLCONNECTOR_PUBLIC_URL + "/sandbox"
MLCONNECTOR_SANDBOX_INPROCESS = os.environ.get("MLCONNECTOR_SANDBOX_INPROCESS", "1") == "1"
# The core's outbound calls reach the fakes through this transport (the core never imports it).
MLCONNECTOR_HTTP_TRANSPORT = "integrations.sandbox.inprocess.mount_inprocess" if MLCONNECTOR_SANDBOX_INPROCESS else ""
FRESHBOOKS_AUTH_URL = MLCONNECTOR_SANDBOX_URL + "/freshbooks/auth"
FRESHBOOKS_API_URL = MLCONNECTOR_SANDBOX_URL + "/freshbooks/api"
SLACK_AUTH_URL = MLCONNECTOR_SANDBOX_URL + "/slack/oauth/v2/authorize"
SLACK_API_URL = MLCONNECTOR_SANDBOX_URL + "/slack/api"
MONDAY_AUTH_URL = MLCONNECTOR_SANDBOX_URL + "/monday/auth"
MONDAY_API_URL = MLCONNECTOR_SANDBOX_URL + "/monday/v2"
GOCARDLESS_API_URLS = {env: f"{MLCONNECTOR_SANDBOX_URL}/gocardless/{env}" for env in ("live", "sandbox")}
GOCARDLESS_CONNECT_URL = MLCONNECTOR_SANDBOX_URL + "/gocardless/connect"
SLACK_MESSAGE_URL = MLCONNECTOR_SANDBOX_URL + "/slack/channels/{channel}/#m{ts}"
MONDAY_ITEM_URL = MLCONNECTOR_SANDBOX_URL + "/monday/boards/{board}/#item-{item}"
HUBSPOT_API_URL = MLCONNECTOR_SANDBOX_URL + "/hubspot/api"
HUBSPOT_RECORD_URL = MLCONNECTOR_SANDBOX_URL + "/hubspot/records/{type}/{id}/"
HUBSPOT_AUTH_URL = MLCONNECTOR_SANDBOX_URL + "/hubspot/oauth/authorize"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER = {**Q_CLUSTER, "sync": os.environ.get("MLCONNECTOR_Q_SYNC", "1") == "1"}
MLCONNECTOR_MAX_INLINE_WAIT = 0.5

# The live server thread would otherwise keep a connection open and block dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so real worker processes started by the tests share the database.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get(
            "MLCONNECTOR_TEST_SQLITE", os.path.join(tempfile.gettempdir(), f"mlconnector-test-{os.getpid()}.sqlite3")
        )
    }
