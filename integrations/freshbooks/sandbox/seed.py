"""The FreshBooks sandbox's demo data: the OAuth app, "Demo Owner" and the demo businesses.

`seed_demo()` runs from `manage.py seed_demo` (through the package) and in tests; it is idempotent.
`seed_demo(businesses=2)` makes Demo Owner a member of two businesses, for the "choose a business"
flow; `add_identity()` and `add_business()` add other people and businesses.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from integrations.freshbooks.sandbox import records as records
from integrations.freshbooks.sandbox.state import IDENTITY_PREFIX, KINDS, PROVIDER, find, membership
from integrations.sandbox import tokens
from integrations.sandbox.models import SandboxAccount


@dataclass
class Demo:
    identity: SandboxAccount
    businesses: list[SandboxAccount]


DEMO_BUSINESSES = (
    ("DEMO01", 770001, "Demo Books Ltd", "USD"),
    ("DEMO02", 770002, "Demo Books Europe GmbH", "EUR"),
    ("DEMO03", 770003, "Demo Books Canada Inc", "CAD"),
)
DEMO_CLIENTS = (
    ("Northwind Traders", "Nancy", "Davolio", "nancy@northwind.example"),
    ("Globex Corporation", "Hank", "Scorpio", "hank@globex.example"),
)
DEMO_CATEGORIES = ("Internal", "Travel", "Software", "Office Supplies")
DEMO_VENDOR = "Initech Supplies"


def _uuid(name: str) -> str:
    # Deterministic, so re-seeding never changes an id a connection has stored.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-freshbooks:{name}"))


def seed_demo(businesses: int = 1) -> Demo:
    """Idempotent: the sandbox OAuth app and "Demo Owner", a member of `businesses` (1-3) demo businesses."""
    from mlconnector.connections.oauth import redirect_uri

    app = tokens.ensure_app(PROVIDER, settings.FRESHBOOKS_CLIENT_ID, settings.FRESHBOOKS_CLIENT_SECRET)
    if redirect_uri(PROVIDER) not in app.redirect_uris:
        app.redirect_uris = [*app.redirect_uris, redirect_uri(PROVIDER)]
        app.save(update_fields=["redirect_uris"])
    person = add_identity(5001, "Demo", "Owner", "owner@demo-books.example")
    made = [add_business(person, *spec) for spec in DEMO_BUSINESSES[: max(1, min(businesses, len(DEMO_BUSINESSES)))]]
    person.refresh_from_db()
    return Demo(identity=person, businesses=made)


def add_identity(identity_id: int, first_name: str, last_name: str, email: str) -> SandboxAccount:
    """A person who can sign in on the consent page; add_business() makes them a member. Idempotent."""
    data = {"identity_id": identity_id, "identity_uuid": _uuid(f"identity:{identity_id}"), "first_name": first_name}
    data |= {"last_name": last_name, "email": email, "created_at": "2024-01-02T15:04:05Z", "memberships": []}
    person, _ = SandboxAccount.objects.get_or_create(
        provider=PROVIDER,
        key=f"{IDENTITY_PREFIX}{identity_id}",
        defaults={"name": f"{first_name} {last_name}", "data": data},
    )
    return person


def add_business(
    person: SandboxAccount,
    account_id: str,
    business_id: int,
    name: str,
    currency_code: str = "USD",
    role: str = "owner",
) -> SandboxAccount:
    """A business `person` belongs to (with demo clients, expense categories and a vendor). Idempotent."""
    address = {"street": "1 Ledger Lane", "city": "Toronto", "province": "Ontario", "country": "Canada"}
    account, _ = SandboxAccount.objects.get_or_create(
        provider=PROVIDER,
        key=account_id,
        defaults={
            "name": name,
            "data": {"business_id": business_id, "business_uuid": _uuid(f"business:{account_id}")}
            | {"date_format": "mm/dd/yyyy", "currency_code": currency_code, "address": address}
            | {"system": f"https://{account_id.lower()}.sandbox-freshbooks.invalid"},
        },
    )
    with transaction.atomic():
        locked = SandboxAccount.objects.select_for_update().get(pk=person.pk)
        entries = locked.data.setdefault("memberships", [])
        if membership(locked, account_id) is None:
            n = len(entries) + 1
            # userid is the member's id inside the business: the owner is user 1, as in FreshBooks.
            entries.append(
                {"id": 140000 + locked.pk * 10 + n, "account_id": account_id, "role": role}
                | {"userid": 1 if role == "owner" else n + 1, "role_id": 61000 + locked.pk * 10 + n}
            )
            locked.save(update_fields=["data"])
    for organization, first, last, email in DEMO_CLIENTS:
        if find(account, "client", organization=organization) is None:
            fields = {"organization": organization, "fname": first, "lname": last, "email": email}
            records.create(account, KINDS["client"], {**fields, "currency_code": currency_code})
    for category in DEMO_CATEGORIES:
        if find(account, "category", category=category) is None:
            records.new_category(account, category)
    if find(account, "bill_vendor", vendor_name=DEMO_VENDOR) is None:
        records.create(account, KINDS["bill_vendor"], {"vendor_name": DEMO_VENDOR, "currency_code": currency_code})
    person.refresh_from_db()
    return account
