"""The fake GoCardless's demo: an organisation in each environment, and in the sandbox one two
FreshBooks demo clients as customers: Northwind Traders with an active ACH (USD) mandate, and
Globex without one (its invoices land on the "needs a mandate" list). Idempotent."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.gocardless.sandbox import scenario
from integrations.gocardless.sandbox.state import add_organisation, rows
from integrations.sandbox.models import SandboxAccount

SANDBOX_ORG = "OR0000DEMO01"
LIVE_ORG = "OR0000LIVE01"


@dataclass
class Demo:
    sandbox: SandboxAccount
    live: SandboxAccount


def seed_demo() -> Demo:
    _oauth_app()
    sandbox = add_organisation(SANDBOX_ORG, "Demo Books Ltd", "sandbox")
    live = add_organisation(LIVE_ORG, "Demo Books Ltd (live)", "live")
    if not rows(sandbox, "customer").exists():
        northwind = scenario.add_customer(
            sandbox,
            email="nancy@northwind.example",
            given_name="Nancy",
            family_name="Davolio",
            company_name="Northwind Traders",
        )
        scenario.add_mandate(sandbox, northwind["id"], "USD")
        scenario.add_customer(
            sandbox,
            email="hank@globex.example",
            given_name="Hank",
            family_name="Scorpio",
            company_name="Globex Corporation",
        )
        # The demo starts quiet: these set-up events are not sent anywhere.
        for row in rows(sandbox, "event"):
            row.data["_delivered"] = True
            row.save(update_fields=["data"])
    _bank_fees_category()
    return Demo(sandbox=sandbox, live=live)


def _oauth_app() -> None:
    """ml-connector's partner app, with its redirect URI registered (idempotent)."""
    from django.conf import settings

    from integrations.sandbox import tokens
    from mlconnector.connections.oauth import redirect_uri

    app = tokens.ensure_app("gocardless", settings.GOCARDLESS_CLIENT_ID, settings.GOCARDLESS_CLIENT_SECRET)
    if redirect_uri("gocardless") not in app.redirect_uris:
        app.redirect_uris = [*app.redirect_uris, redirect_uri("gocardless")]
        app.save(update_fields=["redirect_uris"])


def _bank_fees_category() -> None:
    """FreshBooks' demo businesses get the "Bank Fees" expense category GoCardless's fees go to."""
    from integrations.freshbooks.sandbox.records import new_category
    from integrations.freshbooks.sandbox.state import PROVIDER
    from integrations.freshbooks.sandbox.state import rows as fb_rows

    for account in SandboxAccount.objects.filter(provider=PROVIDER).exclude(key__startswith="identity:"):
        if not any(r.data.get("category") == "Bank Fees" for r in fb_rows(account, "category")):
            new_category(account, "Bank Fees")
