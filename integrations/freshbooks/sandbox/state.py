"""The FreshBooks sandbox's shared state: identities, businesses, errors, money, callbacks, webhooks.

Used by the API views (api.py), the record rules (records.py) and the human pages
(pages.py), so a change made anywhere sends the same signed webhook. Wire facts and their
sources are in ../shared/vendors/freshbooks-gocardless-salesforce.md §1; where that note says
UNCONFIRMED, the choice made here says so too.

Storage: identities (people who sign in) and businesses (FreshBooks "accounts") are both
SandboxAccount rows. A business's key is its account_id; an identity's key is "identity:<id>", so
tokens hang off the identity they were issued to, as FreshBooks tokens do (one login, several
businesses). Records are SandboxObject rows per business, numbered from the row's pk so that two
writers can never hand out the same id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from integrations.sandbox import delivery, tokens
from integrations.sandbox.models import SandboxAccount, SandboxObject

PROVIDER = "freshbooks"
EASTERN = ZoneInfo("America/New_York")
IDENTITY_PREFIX = "identity:"
CENT = Decimal("0.01")
ACCESS_TTL = 12 * 60 * 60  # access tokens last 12 hours
CODE_TTL = 5 * 60  # authorization codes expire after 5 minutes
WEBHOOK_USER_AGENT = "FreshHooks/0.4 (sandbox)"
SIGNATURE_HEADER = "X-FreshBooks-Hmac-SHA256"
ERRNO_NOT_FOUND = 1012  # specs/freshbooks/get_client_response__not_found.json
# UNCONFIRMED: FreshBooks publishes no list of validation errno values; this one is the sandbox's.
ERRNO_INVALID = 1000

# https://www.freshbooks.com/api/scopes: the objects the sandbox models (user:profile:read is implicit).
SCOPE_OBJECTS = ("bills", "bill_vendors", "clients", "expenses", "invoices", "payments")
ALL_SCOPES = " ".join(["user:profile:read", *(f"user:{o}:{a}" for o in SCOPE_OBJECTS for a in ("read", "write"))])

# Event names: <type>.<action>, the parent type alone, and two extras (vendors doc §1.7).
EVENT_TYPES = (
    "bill bill_vendor category client credit_note estimate expense invoice item payment project recurring service"
    " tax time_entry"
).split()
VALID_EVENTS = frozenset(
    [*EVENT_TYPES, *(f"{t}.{a}" for t in EVENT_TYPES for a in ("create", "update", "delete"))]
    + ["invoice.sendByEmail", "estimate.sendByEmail"]
)


@dataclass(frozen=True)
class Kind:
    name: str  # SandboxObject.kind, the singular wrapper key, and the webhook event type
    path: str  # under /accounting/account/<account_id>/
    plural: str
    label: str
    id_keys: tuple[str, ...]  # "id" plus the kind's own id key, same value (payments: logid, no paymentid)
    id_base: int  # only makes different kinds' ids look different; uniqueness comes from the pk
    scope_object: str = ""  # user:<object>:read|write; the plural unless said otherwise
    writable: bool = True

    @property
    def single(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        return self.scope_object or self.plural


_CATEGORY_IDS = ("id", "categoryid")
KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("invoice", "invoices/invoices", "invoices", "Invoice", ("id", "invoiceid"), 100000),
        Kind("payment", "payments/payments", "payments", "Payment", ("id", "logid"), 300000),
        Kind("client", "users/clients", "clients", "Client", ("id", "userid"), 200000),
        Kind("bill", "bills/bills", "bills", "Bill", ("id",), 500000),
        Kind("bill_vendor", "bill_vendors/bill_vendors", "bill_vendors", "Vendor", ("id", "vendorid"), 600000),
        Kind("expense", "expenses/expenses", "expenses", "Expense", ("id", "expenseid"), 700000),
        # Read-only through the API, like the SDK's expenses_categories (no create/update/delete).
        Kind("category", "expenses/categories", "categories", "Category", _CATEGORY_IDS, 800000, "expenses", False),
        # Not served as accounting resources: webhook callbacks (events API) and overpayment credits.
        Kind("callback", "", "callbacks", "Callback", ("callbackid",), 1000, writable=False),
        Kind("credit", "", "credits", "Credit", ("id", "creditid"), 900000, writable=False),
    )
}
BY_PATH = {k.path: k for k in KINDS.values() if k.path}


class ApiError(Exception):
    """A request the fake refuses; rendered in FreshBooks' old accounting error envelope."""

    def __init__(
        self, status: int, message: str, *, errno: int = ERRNO_INVALID, field: str = "", obj: str = "", value: Any = ""
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errno = status, message, errno
        self.field, self.obj, self.value = field, obj, value

    def envelope(self) -> dict:
        error = {"errno": self.errno, "field": self.field, "message": self.message, "object": self.obj}
        return {"response": {"errors": [{**error, "value": str(self.value)}]}}


def not_found(kind: Kind, object_id: Any, field: str = "") -> ApiError:
    field = field or (kind.id_keys[-1] if len(kind.id_keys) > 1 else f"{kind.name}id")  # client: userid
    return ApiError(404, f"{kind.label} not found.", errno=ERRNO_NOT_FOUND, field=field, obj=kind.name, value=object_id)


def invalid(field: str, message: str, obj: str = "", value: Any = "") -> ApiError:
    return ApiError(422, message, field=field, obj=obj, value=value)


# A change to announce by webhook once it has committed: (business, event name, object id).
Change = tuple[SandboxAccount, str, str]


# --- time and money ---------------------------------------------------------------------------


def eastern_now() -> str:
    """Accounting timestamps: US/Eastern wall time with no zone marker."""
    return datetime.now(EASTERN).strftime("%Y-%m-%d %H:%M:%S")


def utc_now() -> str:
    """The UTC exceptions: client signup_date, bill and bill_vendor created_at/updated_at."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso_now() -> str:
    """The events API's timestamps (callback updated_at), ISO-8601 UTC."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def today() -> date:
    return datetime.now(EASTERN).date()


def money(amount: Decimal, code: str) -> dict[str, str]:
    return {"amount": str(amount.quantize(CENT)), "code": code}


def amount_of(value: Any) -> Decimal:
    """The Decimal inside a stored money object."""
    return Decimal(str((value or {}).get("amount") or "0"))


def parse_amount(value: Any, field: str, obj: str, *, positive: bool = True) -> Decimal:
    """An amount sent as {"amount": "10.00"} or bare: a Decimal with at most 2 places (never a float)."""
    raw = value.get("amount") if isinstance(value, dict) else value
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise invalid(field, f"{field} must be a decimal amount.", obj, raw) from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise invalid(field, f"{field} must be a decimal amount with at most 2 decimal places.", obj, raw)
    if positive and amount <= 0:
        raise invalid(field, f"{field} must be greater than zero.", obj, raw)
    return amount.quantize(CENT)


def parse_day(value: Any, field: str, obj: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise invalid(field, f"{field} must be a date (YYYY-MM-DD).", obj, value) from None


def currency(value: Any, default: str) -> str:
    code = str(value or default).upper()
    if len(code) != 3 or not code.isalpha():
        raise invalid("currency_code", "currency_code must be a 3-letter currency code.", value=value)
    return code


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- identities and businesses ----------------------------------------------------------------


def identities():
    return SandboxAccount.objects.filter(provider=PROVIDER, key__startswith=IDENTITY_PREFIX).order_by("id")


def businesses():
    return SandboxAccount.objects.filter(provider=PROVIDER).exclude(key__startswith=IDENTITY_PREFIX).order_by("id")


def business(account_id: str | None) -> SandboxAccount | None:
    if not account_id or account_id.startswith(IDENTITY_PREFIX):
        return None
    return businesses().filter(key=account_id).first()


def identity(identity_id: Any) -> SandboxAccount | None:
    return identities().filter(key=f"{IDENTITY_PREFIX}{identity_id}").first()


def memberships(person: SandboxAccount) -> list[tuple[dict, SandboxAccount]]:
    entries = person.data.get("memberships", [])
    found = {b.key: b for b in businesses().filter(key__in=[m["account_id"] for m in entries])}
    return [(m, found[m["account_id"]]) for m in entries if m["account_id"] in found]


def membership(person: SandboxAccount, account_id: str) -> dict | None:
    return next((m for m in person.data.get("memberships", []) if m["account_id"] == account_id), None)


def member_for(account: SandboxAccount, person: SandboxAccount | None) -> tuple[SandboxAccount, dict] | None:
    """Who a change is attributed to: `person` when a member, else the business's owner (the console)."""
    if person is not None and (m := membership(person, account.key)) is not None:
        return person, m
    members = [(p, m) for p in identities() for m in p.data.get("memberships", []) if m["account_id"] == account.key]
    members.sort(key=lambda pm: pm[1]["role"] != "owner")
    return members[0] if members else None


def issue_tokens(person: SandboxAccount, app, scopes: str) -> dict[str, Any]:
    """A fresh access + refresh token pair, shaped like specs/freshbooks/auth_token_response.json."""
    access = tokens.issue(PROVIDER, "access", account=person, app=app, ttl=ACCESS_TTL, scopes=scopes)
    refresh = tokens.issue(PROVIDER, "refresh", account=person, app=app, scopes=scopes)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL,
        "scope": scopes,
        "created_at": int(datetime.now(UTC).timestamp()),
    }


def identity_json(person: SandboxAccount) -> dict:
    d, iid = person.data, person.data["identity_id"]
    found = memberships(person)
    owner = [(m, b) for m, b in found if m["role"] == "owner"]
    return {
        "id": iid,
        "identity_id": iid,
        "identity_uuid": d["identity_uuid"],
        "first_name": d["first_name"],
        "last_name": d["last_name"],
        "email": d["email"],
        "language": "en",
        "confirmed_at": d["created_at"],
        "created_at": d["created_at"],
        "unconfirmed_email": None,
        "setup_complete": True,
        "profile": {"setup_complete": True, "first_name": d["first_name"], "last_name": d["last_name"]}
        | {"phone_number": None, "address": None, "professions": [], "has_password": True},
        "profession": None,
        "phone_numbers": [],
        "addresses": [],
        "links": {"me": f"/service/auth/api/v1/users?id={iid}", "roles": f"/service/auth/api/v1/users/role/{iid}"},
        "permissions": {b.key: {} for _, b in found},
        "groups": [
            {"id": m["id"], "group_id": m["id"] + 1, "role": m["role"], "identity_id": iid}
            | {"identity_uuid": d["identity_uuid"], "business_id": b.data["business_id"], "active": True}
            for m, b in found
        ],
        "subscription_statuses": {b.key: "active" for _, b in owner},
        "integrations": {},
        "business_memberships": [
            {"id": m["id"], "role": m["role"], "unacknowledged_change": False, "business": _business_json(b)}
            for m, b in found
        ],
        "identity_origin": None,
        "roles": [
            {"id": m["role_id"], "role": "admin" if m["role"] == "owner" else m["role"], "userid": m["userid"]}
            | {"systemid": b.data["business_id"], "accountid": b.key, "created_at": d["created_at"]}
            | {"links": {"destroy": f"/service/auth/api/v1/users/role/{m['role_id']}"}}
            for m, b in found
        ],
    }


def _business_json(account: SandboxAccount) -> dict:
    d = account.data
    return {
        "id": d["business_id"],
        "business_uuid": d["business_uuid"],
        "name": account.name,
        "account_id": account.key,
        "date_format": d.get("date_format", "mm/dd/yyyy"),
        "address": {"id": d["business_id"] + 1, **d.get("address", {})},
        "phone_number": None,
        "business_clients": [],
    }


# --- records ------------------------------------------------------------------------------------


def rows(account: SandboxAccount, kind: str):
    return SandboxObject.objects.filter(provider=PROVIDER, account=account, kind=kind).order_by("id")


def get_row(account: SandboxAccount, kind: Kind, object_id: Any, field: str = "") -> SandboxObject:
    row = rows(account, kind.name).filter(object_id=str(object_id)).first() if str(object_id).isdigit() else None
    if row is None:
        raise not_found(kind, object_id, field)
    return row


def find(account: SandboxAccount, kind: str, **equals) -> SandboxObject | None:
    return next((r for r in rows(account, kind) if all(r.data.get(k) == v for k, v in equals.items())), None)


def save_new(account: SandboxAccount, kind: Kind, data: dict) -> SandboxObject:
    """Insert a record numbered from its own pk, under the id keys FreshBooks uses for the kind."""
    row = SandboxObject.objects.create(
        provider=PROVIDER, account=account, kind=kind.name, object_id=f"new-{uuid.uuid4().hex}", data={}
    )
    object_id = kind.id_base + row.pk
    row.object_id = str(object_id)
    row.data = {**dict.fromkeys(kind.id_keys, object_id), **data}
    row.save(update_fields=["object_id", "data"])
    return row


def public(kind: Kind, record: dict, includes: frozenset[str] | set[str] = frozenset()) -> dict:
    """What the API shows: no sandbox-internal keys, and invoice lines only with include[]=lines."""
    hide_lines = kind.name == "invoice" and "lines" not in includes
    return {k: v for k, v in record.items() if not k.startswith("_") and not (hide_lines and k == "lines")}


# --- callbacks and webhooks ---------------------------------------------------------------------


def send_verification(account: SandboxAccount, callback: SandboxObject, person: SandboxAccount | None) -> None:
    """A new verifier, stored encrypted (never in the JSON), POSTed to the URI as callback.verify."""
    verifier = secrets.token_urlsafe(24)
    SandboxObject.objects.filter(pk=callback.pk).update(secret=verifier)
    member = member_for(account, person)
    fields = {
        "name": "callback.verify",
        "object_id": callback.object_id,
        "verifier": verifier,
        "account_id": account.key,
        "system": account.data.get("system", ""),
        "user_id": str(member[1]["userid"]) if member else "1",
    }
    # UNCONFIRMED whether the verification POST carries a signature; the sandbox sends none.
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": WEBHOOK_USER_AGENT}
    delivery.send_later(callback.data["uri"], urlencode(list(fields.items())), headers)


def check_verifier(callback: SandboxObject, offered: Any) -> bool:
    stored = SandboxObject.objects.get(pk=callback.pk).secret or ""
    return bool(stored) and isinstance(offered, str) and hmac.compare_digest(stored.encode(), offered.encode())


def sign(fields: dict[str, str], verifier: str) -> str:
    """base64(HMAC-SHA256(verifier, json.dumps(fields))), Python's default separators (vendors doc §1.7)."""
    message = json.dumps({k: str(v) for k, v in fields.items()}).encode("utf-8")
    return base64.b64encode(hmac.new(verifier.encode("utf-8"), message, hashlib.sha256).digest()).decode("ascii")


def announce(changes: list[Change], person: SandboxAccount | None = None) -> int:
    """POST each change to the account's verified callbacks for the event or its parent, signed.

    Call it only after the change has committed: the receiver fetches the record straight away
    (webhooks carry ids only) and must find it.
    """
    sent = 0
    for account, name, object_id in changes:
        member = member_for(account, person)
        fields = {
            "name": name,
            "object_id": str(object_id),
            "account_id": account.key,
            "business_id": str(account.data.get("business_id", "")),
            "identity_id": str(member[0].data["identity_id"]) if member else "",
            "user_id": str(member[1]["userid"]) if member else "",
        }
        body = urlencode(list(fields.items()))
        parent = name.split(".")[0]
        for cb in rows(account, "callback"):
            if not cb.data.get("verified") or cb.data.get("event") not in (name, parent) or not cb.secret:
                continue
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": WEBHOOK_USER_AGENT,
                SIGNATURE_HEADER: sign(fields, cb.secret),
            }
            delivery.send_later(cb.data["uri"], body, headers)
            sent += 1
    return sent
