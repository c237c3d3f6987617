"""A faithful local fake of FreshBooks (OAuth, accounting REST, events API, signed webhooks) at /sandbox/freshbooks/.

Routes, relative to /sandbox/freshbooks/ (settings.FRESHBOOKS_AUTH_URL is ".../auth",
FRESHBOOKS_API_URL is ".../api"):
  ""                                                      the console (pages.py)
  auth/oauth/authorize                                    the consent page (pages.py)
  api/auth/oauth/token                                    code and refresh-token grants
  api/auth/api/v1/users/me                                the identity and its businesses
  api/accounting/account/<account_id>/<resource>[/<id>]   invoices, payments, clients, bills, ...
  api/events/account/<account_id>/events/callbacks[/<id>] webhook callbacks
Every API view calls faults.inject() first, so tests can queue 429s, 5xx, timeouts, revoked tokens,
and FreshBooks' "error with HTTP 200" (a status fault with status=200 and an errors body).
FreshBooks publishes no rate limit (UNCONFIRMED); settings.FRESHBOOKS_SANDBOX_RATE_LIMIT = (calls,
seconds) per identity turns an emulation on; it is off by default.
"""

from integrations.freshbooks.sandbox.seed import Demo, add_business, add_identity, seed_demo

__all__ = ["Demo", "add_business", "add_identity", "seed_demo"]
