# ml-connector: `make run` for the demo, `make test` for the suite. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: run test test-at install migrate seed lint api-schema bench-ingest bench-monday bench-salesforce bench-hubspot bench-ui browser screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

seed: migrate
	$(PY) manage.py seed_demo

# The demo: SQLite + the ORM broker, web (gunicorn) + worker (manage.py worker: dispatcher + supervised qcluster) + the sandbox providers.
run: seed
	@echo "Starting web on http://127.0.0.1:8000 and the worker (Ctrl-C stops both)."
	$(VENV)/bin/honcho start -f Procfile

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@test -x "$(CHROMIUM)" || { echo "$(CHROMIUM) is still missing"; exit 1; }

test: install browser
	$(VENV)/bin/pytest

# The whole suite with the clock moved to AT (UTC, next day) for every process it starts, browsers
# included: where a UTC date and the account's calendar differ (00:30 UTC is the previous evening in
# US/Eastern). libfaketime's monotonic clock is shifted too: sleeps misbehave when it is not.
AT ?= 00:30
test-at: install browser
	@command -v faketime >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime; }
	off=$$(( $$(date -u -d "$$(date -u -d tomorrow +%F) $(AT)" +%s) - $$(date +%s) )); \
		faketime -f "+$${off}s" $(VENV)/bin/pytest

# Refresh the README's screenshots (docs/screenshots/) from the browser tests.
screenshots: install browser
	MLCONNECTOR_SCREENSHOTS=1 $(VENV)/bin/pytest tests/browser

# The API's OpenAPI schema, checked in: tests/api/test_schema.py fails when it differs from the code.
api-schema: install
	DJANGO_SETTINGS_MODULE=tests.settings $(PY) manage.py spectacular --validate --fail-on-warn --file docs/api/openapi.yaml

lint: install
	$(VENV)/bin/ruff check .

bench-ingest: install
	$(PY) bench/ingest.py

# 600 messages to one Slack channel at Slack's 1/s (~11 min); e.g. BENCH_ARGS="--interval 0.2 --backend postgres".
bench-slack: install
	$(PY) bench/slack_drain.py $(BENCH_ARGS)

bench-monday: install
	$(PY) bench/monday_sync.py

# 10,000 clients and 10,000 invoices backfilled into the sandbox Salesforce: records per API call.
bench-salesforce: install
	$(PY) bench/salesforce_backfill.py $(BENCH_ARGS)

# 10,000 clients and 10,000 invoices backfilled into the sandbox HubSpot at 190 requests / 10 s by two
# worker processes, one killed mid-way; e.g. BENCH_ARGS="--clients 1000 --invoices 1000 --burst 20".
bench-hubspot: install
	$(PY) bench/hubspot_backfill.py $(BENCH_ARGS)

bench-ui: install
	$(PY) bench/ui_pages.py

clean:
	rm -rf $(VENV) var staticfiles
