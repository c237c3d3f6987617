"""A faithful local fake of GoCardless Pro at /sandbox/gocardless/ (vendors doc §2 and its traps,
../shared/specs/gocardless/ for the shapes).

Routes, relative to /sandbox/gocardless/ (settings.GOCARDLESS_API_URLS point at sandbox/ and live/):
  ""                          the dashboard: tokens, webhook endpoint, customers, scenario control
  console/<org>/<action>/     its buttons (token, webhook, customer, move, payout)
  flow/<id>/                  the hosted billing-request page a client fills in
  sandbox/..., live/...       the API of each environment: creditors, customers, mandates,
                              payments (+ cancel, retry), payouts, payout_items, billing_requests,
                              billing_request_flows, events; cursors, Idempotency-Key with 409,
                              RateLimit-* headers (settings.GOCARDLESS_SANDBOX_RATE_LIMIT =
                              (calls, seconds), default (1000, 60))
Webhooks: every change emits an event; flush() sends the undelivered ones, up to 250 a body,
signed with the endpoint secret. The official `gocardless-pro` client works against it unchanged.
"""

from integrations.gocardless.sandbox.pages import issue_token
from integrations.gocardless.sandbox.scenario import add_customer, add_mandate, create_payout, move_payment
from integrations.gocardless.sandbox.seed import LIVE_ORG, SANDBOX_ORG, Demo, seed_demo
from integrations.gocardless.sandbox.state import flush, organisation, set_webhook_endpoint

__all__ = [
    "LIVE_ORG",
    "SANDBOX_ORG",
    "Demo",
    "add_customer",
    "add_mandate",
    "create_payout",
    "flush",
    "issue_token",
    "move_payment",
    "organisation",
    "seed_demo",
    "set_webhook_endpoint",
]
