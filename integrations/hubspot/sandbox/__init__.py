"""A faithful local fake of HubSpot's CRM API for private apps and a public app's OAuth, at /sandbox/hubspot/.

Routes, relative to /sandbox/hubspot/ (settings.HUBSPOT_API_URL is ".../api"):
  ""                              the console: the portal, private app tokens, switches, records (pages.py)
  oauth/authorize                 the public app's consent page (app.hubspot.com/oauth/authorize; oauth.py)
  api/oauth/<version>/token       its token endpoint (v1, v3, 2026-03, 2026-09): codes, 30-minute tokens, refresh
  records/<type>/<id>/            one record with its properties and associations, as a person sees it
  api/account-info/v3/details     the portal (portalId, timeZone, currency)
  api/crm/v3/objects/<type>/...   contacts, companies, invoices, line_items, commerce_payments (payments read-only):
                                  CRUD, batch/{read,create,update,upsert,archive}, search
  api/crm/v4/...                  associations: default and labelled, single and batch
  api/crm/v3/properties/<type>/.. properties and property groups (custom, unique values)

Wire facts: ../shared/vendors/monday-hubspot-slack.md §2; paths and bodies are checked against
HubSpot's OpenAPI files (spec.py). Modules: state (portal, tokens, errors), objects (records,
properties, associations, invoice rules), limits (burst, daily and search limits, counters), api.

Python API for tests, the demo and the benchmark: see __all__.
"""

from __future__ import annotations

from integrations.hubspot.sandbox.control import (
    add_portal,
    associations,
    expire_oauth_tokens,
    inject,
    issue_token,
    record,
    records,
    reset,
    revoke_oauth_app,
    set_invoice_writes,
    set_limits,
    set_oauth,
    stats,
)
from integrations.hubspot.sandbox.state import DEMO_HUB_ID, PROVIDER, portal


def seed_demo() -> None:
    """`manage.py seed_demo` (and the browser tests) call this: the demo portal and the public app."""
    from integrations.hubspot.sandbox.oauth import public_app

    portal()
    public_app()


__all__ = [
    "DEMO_HUB_ID",
    "PROVIDER",
    "add_portal",
    "associations",
    "expire_oauth_tokens",
    "inject",
    "issue_token",
    "portal",
    "record",
    "records",
    "reset",
    "revoke_oauth_app",
    "seed_demo",
    "set_invoice_writes",
    "set_limits",
    "set_oauth",
    "stats",
]
