"""Board, column and item state of the Monday sandbox (SandboxObject rows), its seed and its cursors.

One SandboxAccount (provider "monday", key = the numeric account id) holds boards (kind "board",
data = name, columns, groups) and items (kind "item", data = board_id, name, group_id, values by
column id). Item ids come from the row's pk, so two writers never hand out the same id.
`ensure_account()` seeds the three boards idempotently; the views call it lazily.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.db import transaction

from integrations.monday.sandbox import clock as sandbox_clock
from integrations.monday.sandbox import columns as columns
from integrations.monday.sandbox.errors import MondayError
from integrations.sandbox import tokens
from integrations.sandbox.models import SandboxAccount, SandboxObject

PROVIDER = "monday"
ACCOUNT_ID = "27182818"
ACCOUNT_NAME = "ML Connector Demo"
USER = {"id": "61803398", "name": "Sandy Sandbox", "email": "sandy@sandbox.monday.test"}
ITEM_BASE = 9_100_000_000
ITEMS_PER_BOARD = 10_000  # ItemsLimitationException above this (vendors note §1.6)
MAX_PAGE = 500
CURSOR_SALT = "monday-sandbox-cursor"


def _col(cid: str, title: str, kind: str, labels: list[str] | None = None) -> dict:
    return {"id": cid, "title": title, "type": kind, "settings": columns.default_settings(kind, labels)}


# "Stuck" is Monday's own default label: a person's, which FreshBooks never sets.
INVOICE_STATUSES = ["Draft", "Sent", "Viewed", "Partial", "Paid", "Overdue", "Stuck"]
SEED = [
    {
        "id": "1876543210",
        "name": "Invoices",
        "columns": [
            _col("name", "Name", "name"),
            _col("text_mkq1cl1e", "Client", "text"),
            _col("text_mkq1inv0", "Invoice number", "text"),
            _col("numeric_mkq2amt4", "Amount", "numbers"),
            _col("date4", "Due date", "date"),
            _col("date_mkq3iss9", "Issue date", "date"),
            _col("status", "Status", "status", INVOICE_STATUSES),
            _col("link_mkq4fb2x", "FreshBooks link", "link"),
            _col("email_mkq5cl7a", "Client email", "email"),
            _col("long_text_mkq6nts3", "Notes", "long_text"),
        ],
        "groups": [
            {"id": "topics", "title": "This month", "color": "#579bfc"},
            {"id": "group_mkq7arch", "title": "Archive", "color": "#c4c4c4"},
        ],
    },
    {
        "id": "1876543211",
        "name": "Payments",
        "columns": [
            _col("name", "Name", "name"),
            _col("text_mkr1cli2", "Client", "text"),
            _col("numeric_mkr2amt5", "Amount", "numbers"),
            _col("date_mkr3pay0", "Payment date", "date"),
            _col("text_mkr4mth1", "Method", "text"),
            _col("text_mkr5inv3", "Invoice number", "text"),
        ],
        "groups": [{"id": "topics", "title": "Payments", "color": "#00c875"}],
    },
    {
        "id": "1876543212",
        "name": "Bills & expenses",
        "columns": [
            _col("name", "Name", "name"),
            _col("text_mks1ven4", "Vendor", "text"),
            _col("text_mks7num5", "Bill number", "text"),
            _col("numeric_mks2amt6", "Amount", "numbers"),
            _col("date_mks8iss3", "Date", "date"),
            _col("date_mks3due1", "Due date", "date"),
            _col("status", "Status", "status", ["Unpaid", "Partial", "Paid", "Overdue"]),
            _col("dropdown_mks4cat2", "Category", "dropdown", ["Software", "Travel", "Office", "Utilities"]),
            _col("checkbox_mks5app8", "Approved", "checkbox"),
        ],
        "groups": [
            {"id": "topics", "title": "Bills", "color": "#fdab3d"},
            {"id": "group_mks6exp0", "title": "Expenses", "color": "#a25ddc"},
        ],
    },
]


def ensure_account() -> SandboxAccount:
    """The sandbox account with its three boards and the ml-connector OAuth app (idempotent)."""
    account, _ = SandboxAccount.objects.get_or_create(
        provider=PROVIDER, key=ACCOUNT_ID, defaults={"name": ACCOUNT_NAME, "data": {"user": USER, "plan": "pro"}}
    )
    have = set(SandboxObject.objects.filter(provider=PROVIDER, account=account, kind="board").values_list("object_id"))
    for board in SEED:
        if (board["id"],) not in have:
            data = {"name": board["name"], "columns": board["columns"], "groups": board["groups"], "state": "active"}
            SandboxObject.objects.get_or_create(
                provider=PROVIDER, account=account, kind="board", object_id=board["id"], defaults={"data": data}
            )
    if settings.MONDAY_CLIENT_ID and not tokens.app_for(PROVIDER, settings.MONDAY_CLIENT_ID):
        tokens.ensure_app(PROVIDER, settings.MONDAY_CLIENT_ID, settings.MONDAY_CLIENT_SECRET)
    return account


# --- boards --------------------------------------------------------------------------------------


def board_rows(account: SandboxAccount, ids: list[str] | None = None) -> list[SandboxObject]:
    qs = SandboxObject.objects.filter(provider=PROVIDER, account=account, kind="board")
    if ids is not None:
        qs = qs.filter(object_id__in=[str(i) for i in ids])
    return list(qs.order_by("id"))


def board_row(account: SandboxAccount, board_id, *, lock: bool = False) -> SandboxObject:
    qs = SandboxObject.objects.filter(provider=PROVIDER, account=account, kind="board", object_id=str(board_id))
    row = (qs.select_for_update() if lock else qs).first()
    if row is None:
        raise MondayError(
            f"Board not found: {board_id}",
            "InvalidBoardIdException",
            error_data={"board_id": str(board_id)},
        )
    return row


def find_board(account: SandboxAccount, name_or_id) -> SandboxObject:
    for row in board_rows(account):
        if row.object_id == str(name_or_id) or row.data["name"] == name_or_id:
            return row
    raise LookupError(f"No sandbox Monday board named or numbered {name_or_id!r}")


def column(board: dict, column_id: str, board_id: str) -> dict:
    for col in board["columns"]:
        if col["id"] == column_id:
            return col
    raise MondayError(
        "This column ID doesn't exist for the board",
        "InvalidColumnIdException",
        error_data={"column_id": column_id, "board_id": str(board_id)},
    )


def group(board: dict, group_id: str | None) -> dict:
    if not group_id:
        return board["groups"][0]
    for g in board["groups"]:
        if g["id"] == group_id:
            return g
    raise MondayError(f"Group not found: {group_id}", "InvalidGroupIdException", error_data={"group_id": group_id})


# --- items ---------------------------------------------------------------------------------------


def item_rows(account: SandboxAccount, board_id: str | None = None):
    qs = SandboxObject.objects.filter(provider=PROVIDER, account=account, kind="item")
    if board_id is not None:
        qs = qs.filter(data__board_id=str(board_id))
    return qs.order_by("id")


def _name(name) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise MondayError(
            "Item name must be between 1 and 255 characters",
            "ItemNameTooLongException",
            error_data={"item_name_length": len(name or "")},
        )
    return name


def _apply(board: dict, board_id: str, data: dict, values: dict, create_labels: bool, simple: bool = False) -> None:
    for column_id, raw in values.items():
        col = column(board, str(column_id), board_id)
        parsed = (columns.parse_simple if simple else columns.parse)(col, raw, create_labels=create_labels)
        if col["type"] == "name":
            data["name"] = _name(parsed)
        elif parsed is None:
            data["values"].pop(col["id"], None)
        else:
            data["values"][col["id"]] = parsed


def _save_board_if_changed(row: SandboxObject) -> None:
    changed = False
    for col in row.data["columns"]:
        changed = bool(col.pop("_changed", False)) or changed
    if changed:
        row.save(update_fields=["data", "updated_at"])


@transaction.atomic
def create_item(account, board_id, name, group_id=None, values: dict | None = None, create_labels=False):
    row = board_row(account, board_id, lock=True)
    board = row.data
    if item_rows(account, row.object_id).count() >= ITEMS_PER_BOARD:
        raise MondayError("Maximum items per board exceeded", "ItemsLimitationException")
    data = {
        "board_id": row.object_id,
        "name": _name(name),
        "group_id": group(board, group_id)["id"],
        "values": {},
        "created_at": columns.now_iso(),
        "state": "active",
    }
    _apply(board, row.object_id, data, values or {}, create_labels)
    _save_board_if_changed(row)
    item = SandboxObject.objects.create(
        provider=PROVIDER, account=account, kind="item", object_id=uuid.uuid4().hex, data=data
    )
    item.object_id = str(ITEM_BASE + item.pk)
    item.save(update_fields=["object_id"])
    return item


@transaction.atomic
def change_values(account, board_id, item_id, values: dict, create_labels=False, simple=False):
    row = board_row(account, board_id, lock=True)
    item = item_rows(account, row.object_id).filter(object_id=str(item_id)).select_for_update().first()
    if item is None:
        raise MondayError(
            f"Item not found in board: {item_id}",
            "ResourceNotFoundException",
            error_data={"item_id": str(item_id), "board_id": row.object_id},
            status_code=404,
        )
    _apply(row.data, row.object_id, item.data, values, create_labels, simple)
    item.data["updated_at"] = columns.now_iso()
    _save_board_if_changed(row)
    item.save(update_fields=["data", "updated_at"])
    return item


# --- filters and cursors -------------------------------------------------------------------------


def matches(board: dict, item: dict, query: dict | None) -> bool:
    """ItemsQuery: ids, rules (any_of, not_any_of, is_empty, is_not_empty, *_text, greater/lower) and groups."""
    if not query:
        return True
    if query.get("ids") and item["id"] not in {str(i) for i in query["ids"]}:
        return False
    checks = [_rule(board, item, r) for r in query.get("rules") or []]
    checks += [matches(board, item, g) for g in query.get("groups") or []]
    if not checks:
        return True
    return any(checks) if query.get("operator") == "or" else all(checks)


def _rule(board: dict, item: dict, rule: dict) -> bool:
    cid, op = rule["column_id"], rule.get("operator") or "any_of"
    col = column(board, cid, item["board_id"])
    value = item["name"] if cid == "name" else item["values"].get(cid)
    text = columns.text_of(col, value)
    wanted = rule.get("compare_value")
    wanted = wanted if isinstance(wanted, list) else [wanted]
    keys = {text}
    if col["type"] == "status" and isinstance(value, dict):
        keys.add(str(value.get("index")))
    if op == "any_of":
        return bool(keys & {str(w) for w in wanted})
    if op == "not_any_of":
        return not keys & {str(w) for w in wanted}
    if op in ("is_empty", "is_not_empty"):
        return (text == "") == (op == "is_empty")
    if op in ("contains_text", "not_contains_text"):
        found = any(str(w).lower() in text.lower() for w in wanted)
        return found == (op == "contains_text")
    if op in ("starts_with", "ends_with"):
        return any(getattr(text, op.replace("_with", "swith"))(str(w)) for w in wanted)
    if op in ("greater_than", "greater_than_or_equals", "lower_than", "lower_than_or_equal", "between"):
        return _compare(col, text, op, wanted)
    raise MondayError(f"Operator {op} is not supported by the sandbox", "InvalidArgumentException")


def _compare(col: dict, text: str, op: str, wanted: list) -> bool:
    if text == "":
        return False
    try:
        have = Decimal(text) if col["type"] == "numbers" else text
        bounds = [Decimal(str(w)) if col["type"] == "numbers" else str(w) for w in wanted]
    except InvalidOperation:
        raise MondayError("compare_value must be numeric for a numbers column", "InvalidArgumentException") from None
    if op == "between":
        return len(bounds) == 2 and bounds[0] <= have <= bounds[1]
    first = bounds[0]
    return {
        "greater_than": have > first,
        "greater_than_or_equals": have >= first,
        "lower_than": have < first,
        "lower_than_or_equal": have <= first,
    }[op]


def check_limit(limit: int) -> int:
    if limit is None or not 1 <= int(limit) <= MAX_PAGE:
        raise MondayError(
            f"limit must be between 1 and {MAX_PAGE}",
            "InvalidArgumentException",
            error_data={"argument": "limit", "value": limit},
        )
    return int(limit)


def cursor_ttl() -> int:
    return int(getattr(settings, "SANDBOX_MONDAY_CURSOR_TTL", 3600))


def make_cursor(board_id: str, after_pk: int, spec: dict) -> str:
    return signing.dumps({"b": board_id, "a": after_pk, "s": spec, "t": sandbox_clock.now()}, salt=CURSOR_SALT)


def read_cursor(cursor: str) -> dict:
    """A cursor's state; expired cursors (settings.SANDBOX_MONDAY_CURSOR_TTL, default 60 min) are refused.

    Error codes (UNCONFIRMED at Monday): an expired cursor is extensions.code "CursorException" with a
    message starting "CursorExpiredError:"; a cursor the sandbox never issued is "InvalidArgumentException".
    """
    try:
        state = signing.loads(cursor, salt=CURSOR_SALT)
    except signing.BadSignature:
        raise MondayError("Invalid cursor", "InvalidArgumentException", error_data={"argument": "cursor"}) from None
    if sandbox_clock.now() - state["t"] > cursor_ttl():
        raise MondayError(
            "CursorExpiredError: The cursor provided for pagination has expired. "
            "Please refresh your query and obtain a new cursor to continue fetching items",
            "CursorException",
            error_data={"cursor_ttl_seconds": cursor_ttl()},
        )
    return state
