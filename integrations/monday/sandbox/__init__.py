"""A faithful local fake of Monday.com's GraphQL API v2 and OAuth, at /sandbox/monday/.

Routes, relative to /sandbox/monday/ (settings.MONDAY_API_URL is ".../v2", MONDAY_AUTH_URL ".../auth"):
  ""                          the console (pages.py), URL name sandbox-monday-home
  boards/<id>/                a board as a person sees it (sandbox-monday-board)
  v2                          the GraphQL endpoint (sandbox-monday-api)
  auth/oauth2/authorize       the consent page (oauth.py)
  auth/oauth2/token           the token endpoint

Wire facts: ../shared/vendors/monday-hubspot-slack.md §1. Modules: graphql (SDL, validation),
resolvers (execution against DB state), boards/columns (state, column
values), complexity (cost model and budget), limits (faults and counters).

Settings read: MONDAY_CLIENT_ID/SECRET (the seeded OAuth app), SANDBOX_MONDAY_DEFAULT_API_VERSION
(default "2026-10", served when no API-Version header is sent), SANDBOX_MONDAY_CURSOR_TTL (3600),
SANDBOX_MONDAY_COMPLEXITY_BUDGET (10,000,000), SANDBOX_MONDAY_COMPLEXITY_HTTP_200 (False: exhaustion
is an HTTP 429; True: the same body inside an HTTP 200, as monday has also done),
SANDBOX_MONDAY_OAUTH_REFRESH (False), SANDBOX_MONDAY_ACCESS_TTL (3600, with refresh on).

Python API for tests, the demo and the benchmark: see __all__.
"""

from __future__ import annotations

from integrations.monday.sandbox import graphql as gql
from integrations.monday.sandbox.boards import PROVIDER, ensure_account
from integrations.monday.sandbox.complexity import reset_windows
from integrations.monday.sandbox.control import (
    add_boards,
    add_item,
    board,
    delete_column,
    issue_personal_token,
    items,
    reset,
    retype_column,
    set_complexity_budget,
    set_value,
    stats,
)
from integrations.monday.sandbox.limits import (
    inject_concurrency_limit,
    inject_daily_limit,
    inject_locked,
    inject_rate_limit,
    inject_revoke,
    inject_server_error,
    inject_timeout,
)

validate = gql.validate
reset_complexity_windows = reset_windows


def seed_demo() -> None:
    """`manage.py seed_demo` (and the browser tests) call this: the demo account and its OAuth app."""
    ensure_account()


__all__ = [
    "seed_demo",
    "PROVIDER",
    "add_boards",
    "add_item",
    "board",
    "delete_column",
    "ensure_account",
    "inject_concurrency_limit",
    "inject_daily_limit",
    "inject_locked",
    "inject_rate_limit",
    "inject_revoke",
    "inject_server_error",
    "inject_timeout",
    "issue_personal_token",
    "items",
    "reset",
    "reset_complexity_windows",
    "retype_column",
    "set_complexity_budget",
    "set_value",
    "stats",
    "validate",
]
