"""A faithful local fake of Salesforce's REST API and client-credentials OAuth, at /sandbox/salesforce/.

Each org is served under its My Domain host: `https://<name>.my.salesforce.com/<path>` is reached at
`/sandbox/salesforce/<name>.my.salesforce.com/<path>` (settings.SALESFORCE_BASE_URL decides where a
host is reached; in production it is the host itself). Routes under a host (api.py):

  services/oauth2/token                     client credentials (refuses login./test. hosts)
  services/data/                            versions (no session, not counted)
  services/data/vXX.X/[limits|sobjects|sobjects/<T>/describe|sobjects/<T>[/<id>]|
                       sobjects/<T>/<ExtField>/<value>|query?q=|query/<locator>|
                       composite/sobjects[/<T>/<ExtField>]]
  lightning/r/<T>/<id>/view                 a record as a person sees it (pages.py)

The console (pages.py, /sandbox/salesforce/) shows each org's Accounts and Opportunities and the
org's Setup switches: the external-id fields, a validation rule, the won stage's name, API access,
the client-credentials user, sessions, the daily API allowance, and Order Management (the Invoice
object, with Invoices made on the console as Order Management makes them from order summaries).

Wire facts: ../shared/vendors/freshbooks-gocardless-salesforce.md §3. State: state.py; SOQL: soql.py.
"""

from __future__ import annotations

from integrations.salesforce.sandbox.control import (
    accounts,
    add_field,
    add_invoice,
    add_record,
    api_usage,
    end_sessions,
    invoices,
    opportunities,
    org,
    remove_field,
    rename_won_stage,
    sessions_issued,
    set_api_usage,
    set_flag,
    set_order_management,
    set_validation_rule,
)
from integrations.salesforce.sandbox.state import (
    CONSUMER_KEY,
    CONSUMER_SECRET,
    DEMO_HOST,
    DEMO_NAMES,
    DEMO_SANDBOX_HOST,
    PROVIDER,
    ensure_org,
    reset,
)


def seed_demo() -> None:
    """`manage.py seed_demo` calls this: the demo org (and a sandbox org) with its connected app."""
    for host in (DEMO_HOST, DEMO_SANDBOX_HOST):
        ensure_org(host, DEMO_NAMES[host], sandbox=host == DEMO_SANDBOX_HOST)


__all__ = [
    "CONSUMER_KEY",
    "CONSUMER_SECRET",
    "DEMO_HOST",
    "DEMO_SANDBOX_HOST",
    "PROVIDER",
    "accounts",
    "add_field",
    "add_invoice",
    "add_record",
    "api_usage",
    "end_sessions",
    "ensure_org",
    "invoices",
    "opportunities",
    "org",
    "remove_field",
    "rename_won_stage",
    "reset",
    "seed_demo",
    "sessions_issued",
    "set_api_usage",
    "set_flag",
    "set_order_management",
    "set_validation_rule",
]
