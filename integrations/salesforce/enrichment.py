"""Read-only: what Salesforce holds about the synced clients, for the connection's Accounts page.
Each synced client's Account (with a link), its open Opportunities and its Orders, read with SOQL
(200 Accounts per query, following nextRecordsUrl), and the FreshBooks clients with no Account yet.
Nothing is written anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integrations.salesforce.client import SalesforceClient, record_url
from mlconnector.connections.models import Connection
from mlconnector.http import AuditContext, ProviderError
from mlconnector.pipeline.models import RecordLink

CHUNK = 200
# FreshBooks clients read to find those without an Account (pages of 100).
SOURCE_PAGES = 5


@dataclass
class AccountRow:
    client_id: str
    name: str
    account_id: str
    url: str
    opportunities: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)


OPEN_OPPORTUNITIES = (
    "SELECT Id, Name, AccountId, Amount, StageName, CloseDate FROM Opportunity "
    "WHERE IsClosed = false AND AccountId IN ({ids}) ORDER BY CloseDate"
)
ORDERS = "SELECT Id, AccountId, OrderNumber, Status, EffectiveDate, TotalAmount FROM Order WHERE AccountId IN ({ids})"
SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def _quoted(ids: list[str]) -> str:
    """Record ids for an IN list: only well-formed Salesforce ids get into a query."""
    return ", ".join(f"'{i}'" for i in ids if SALESFORCE_ID.match(i))


def accounts(conn: Connection, client: SalesforceClient, limit: int = 200) -> list[AccountRow]:
    links = list(
        RecordLink.objects.filter(connection=conn, source_type="client", remote_type="Account").order_by("-updated_at")[
            :limit
        ]
    )
    instance = conn.secrets().get("instance_url") or conn.config.get("my_domain", "")
    rows = {
        link.remote_id: AccountRow(
            client_id=link.source_id,
            name=(link.data or {}).get("name") or link.source_id,
            account_id=link.remote_id,
            url=record_url(instance, "Account", link.remote_id),
        )
        for link in links
    }
    ids = list(rows)
    for start in range(0, len(ids), CHUNK):
        chunk = _quoted(ids[start : start + CHUNK])
        if not chunk:
            continue
        soql = OPEN_OPPORTUNITIES.format(ids=chunk)
        for opp in client.query(soql):
            rows[opp["AccountId"]].opportunities.append({**opp, "url": record_url(instance, "Opportunity", opp["Id"])})
        for order in client.query(ORDERS.format(ids=chunk)):
            rows[order["AccountId"]].orders.append({**order, "url": record_url(instance, "Order", order["Id"])})
    return sorted(rows.values(), key=lambda r: r.name.lower())


def clients_without_account(conn: Connection, audit: AuditContext) -> tuple[list[dict], bool]:
    """FreshBooks clients (the tenant's active FreshBooks connection, first pages) with no Account
    linked; and whether there were more than were read."""
    source = (
        Connection.objects.for_tenant(conn.tenant_id)
        .filter(provider="freshbooks", status=Connection.Status.ACTIVE)
        .order_by("pk")
        .first()
    )
    if source is None:
        return [], False
    linked = set(
        RecordLink.objects.filter(connection=conn, source_type="client", remote_type="Account").values_list(
            "source_id", flat=True
        )
    )
    reader = source.integration
    found, more = [], False
    for page_number in range(1, SOURCE_PAGES + 1):
        page = reader.pull_page("client", page_number, 100, audit.for_connection(source))
        found += [c for c in page.records if str(c.get("id")) not in linked and c.get("vis_state", 0) == 0]
        if page_number >= page.pages or not page.records:
            break
        more = page_number == SOURCE_PAGES
    return found, more


def read(conn: Connection, audit: AuditContext) -> dict:
    """Everything the page shows, or the error that stopped it (never raised at the page)."""
    out: dict = {"accounts": [], "unsynced": [], "more": False, "error": ""}
    try:
        out["accounts"] = accounts(conn, SalesforceClient(conn, audit=audit))
    except ProviderError as exc:
        out["error"] = f"Could not read from Salesforce: {exc}"
    try:
        out["unsynced"], out["more"] = clients_without_account(conn, audit)
    except ProviderError as exc:
        out["error"] = (out["error"] + " " if out["error"] else "") + f"Could not read FreshBooks clients: {exc}"
    return out
