"""Resolvers of the Monday sandbox: the root value graphql-core executes against, built from DB state.

Objects are dicts; a field that takes arguments is a callable `(info, **args)` (graphql-core's
default resolver calls it). Fields of the SDL not modelled here resolve to null (or fail with
graphql-core's non-null error when the SDL says non-null), which is enough for a fake: every field
ml-connector uses is modelled. Scopes are checked per root field for OAuth tokens
(missingRequiredPermissions, HTTP 200, extensions.status_code 403); personal tokens have them all.
"""

from __future__ import annotations

import json
from typing import Any

from integrations.monday.sandbox import boards as boards
from integrations.monday.sandbox import columns as columns
from integrations.monday.sandbox.errors import MondayError

SCOPES = {
    "me": "me:read",
    "boards": "boards:read",
    "items": "boards:read",
    "next_items_page": "boards:read",
    "items_page_by_column_values": "boards:read",
    "create_item": "boards:write",
    "change_multiple_column_values": "boards:write",
    "change_simple_column_value": "boards:write",
    "change_column_value": "boards:write",
}


def _typename(kind: str) -> str:
    from integrations.monday.sandbox.graphql import schema

    name = columns.TYPENAMES.get(kind) or "".join(p.capitalize() for p in kind.split("_")) + "Value"
    return name if name in schema().type_map else "UnsupportedValue"


def column_json(col: dict) -> dict:
    settings = {k: v for k, v in col.get("settings", {}).items() if not k.startswith("_")}
    return {
        "id": col["id"],
        "title": col["title"],
        "type": col["type"],
        "settings": settings,
        "settings_str": json.dumps(settings),
        "archived": False,
        "description": None,
        "width": None,
    }


def value_json(col: dict, value: Any) -> dict:
    out = {
        "__typename": _typename(col["type"]),
        "id": col["id"],
        "type": col["type"],
        "text": columns.text_of(col, value),
        "value": None if value is None else json.dumps(value),
        "is_leaf": True,
        "column": column_json(col),
        "updated_at": value.get("changed_at") if isinstance(value, dict) else None,
        **columns.typed_fields(col, value),
    }
    if col["type"] == "dropdown":
        names = {o["id"]: o["name"] for o in col.get("settings", {}).get("labels", [])}
        out["values"] = [{"id": i, "label": names.get(i, "")} for i in (value or {}).get("ids", [])]
    return out


def group_json(g: dict) -> dict:
    return {"id": g["id"], "title": g["title"], "color": g.get("color"), "archived": False, "deleted": False}


def _filter_columns(cols: list[dict], ids=None, types=None) -> list[dict]:
    return [c for c in cols if (not ids or c["id"] in ids) and (not types or c["type"] in types)]


def item_json(ctx: dict, row, board: dict) -> dict:
    data = row.data
    board_id = data["board_id"]

    def column_values(info, ids=None, types=None, **_):
        cols = [c for c in _filter_columns(board["columns"], ids, types) if c["type"] != "name"]
        return [value_json(c, data["values"].get(c["id"])) for c in cols]

    grp = next((g for g in board["groups"] if g["id"] == data["group_id"]), None)
    return {
        "id": row.object_id,
        "name": data["name"],
        "state": data.get("state", "active"),
        "created_at": data.get("created_at"),
        "updated_at": data.get("updated_at") or data.get("created_at"),
        "url": f"https://sandbox.monday.test/boards/{board_id}/pulses/{row.object_id}",
        "relative_link": f"/boards/{board_id}/pulses/{row.object_id}",
        "group": group_json(grp) if grp else None,
        "board": lambda info: board_json(ctx, _board_row(ctx, board_id)),
        "column_values": column_values,
        "creator_id": boards.USER["id"],
    }


def _board_row(ctx: dict, board_id: str):
    return boards.board_row(ctx["account"], board_id)


def _page(ctx: dict, board_row, limit: int, spec: dict, after: int = 0) -> dict:
    """One page of a board's items after pk `after` that match spec["query"] / spec["columns"]."""
    limit = boards.check_limit(limit)
    board = board_row.data
    found, last_pk, more = [], after, False
    for row in boards.item_rows(ctx["account"], board_row.object_id).filter(pk__gt=after).iterator():
        if not _wanted(board, row, spec):
            continue
        if len(found) == limit:
            more = True
            break
        found.append(row)
        last_pk = row.pk
    cursor = boards.make_cursor(board_row.object_id, last_pk, spec) if more else None
    return {"cursor": cursor, "items": [item_json(ctx, r, board) for r in found]}


def _wanted(board: dict, row, spec: dict) -> bool:
    item = {"id": row.object_id, **row.data}
    if spec.get("group") and row.data["group_id"] != spec["group"]:
        return False
    if not boards.matches(board, item, spec.get("query")):
        return False
    for rule in spec.get("columns") or []:
        col = boards.column(board, rule["column_id"], board_row_id(row))
        value = row.data["name"] if col["type"] == "name" else row.data["values"].get(col["id"])
        if columns.text_of(col, value) not in [str(v) if v is not None else "" for v in rule["column_values"]]:
            return False
    return True


def board_row_id(row) -> str:
    return row.data["board_id"]


def _next(ctx: dict, cursor: str, limit: int) -> dict:
    state = boards.read_cursor(cursor)
    return _page(ctx, _board_row(ctx, state["b"]), limit, state["s"], state["a"])


def board_json(ctx: dict, row) -> dict:
    board = row.data

    def items_page(info, limit=25, cursor=None, query_params=None, **_):
        if cursor:
            return _next(ctx, cursor, limit)
        return _page(ctx, row, limit, {"query": query_params} if query_params else {})

    def groups(info, ids=None, **_):
        return [_group_with_items(ctx, row, g) for g in board["groups"] if not ids or g["id"] in ids]

    return {
        "id": row.object_id,
        "name": board["name"],
        "state": board.get("state", "active"),
        "board_kind": "public",
        "type": "board",
        "description": None,
        "workspace_id": None,
        "url": f"https://sandbox.monday.test/boards/{row.object_id}",
        "items_count": boards.item_rows(ctx["account"], row.object_id).count(),
        "items_limit": boards.ITEMS_PER_BOARD,
        "columns": lambda info, ids=None, types=None, **_: [
            column_json(c) for c in _filter_columns(board["columns"], ids, types)
        ],
        "groups": groups,
        "items_page": items_page,
        "top_group": group_json(board["groups"][0]),
    }


def _group_with_items(ctx: dict, row, g: dict) -> dict:
    def items_page(info, limit=25, cursor=None, query_params=None, **_):
        if cursor:
            return _next(ctx, cursor, limit)
        return _page(ctx, row, limit, {"group": g["id"], **({"query": query_params} if query_params else {})})

    return {**group_json(g), "items_page": items_page}


def _column_values(raw: Any) -> dict:
    """column_values must be a JSON *string* of {column_id: value} (vendors note §1.4, trap 3)."""
    if raw is None:
        return {}
    if not isinstance(raw, str):
        raise MondayError(
            "column_values must be a JSON string (serialize the object with JSON.stringify / json.dumps)",
            "InvalidArgumentException",
            error_data={"argument": "column_values"},
        )
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise MondayError(
            "column_values is not valid JSON", "JsonParseException", error_data={"argument": "column_values"}
        ) from None
    if not isinstance(parsed, dict):
        raise MondayError("column_values must encode a JSON object", "InvalidArgumentException")
    return parsed


def _item_id(item_id) -> str:
    if not item_id:
        raise MondayError("item_id is required", "InvalidArgumentException", error_data={"argument": "item_id"})
    return str(item_id)


def root(ctx: dict) -> dict:
    """Query and Mutation fields (graphql-core reads both from the root value)."""
    account = ctx["account"]

    def checked(name: str, fn):
        def resolve(info, **args):
            scopes = ctx.get("scopes")
            if scopes is not None and SCOPES.get(name) and SCOPES[name] not in scopes:
                raise MondayError(
                    f"Missing required permissions: {SCOPES[name]}",
                    "missingRequiredPermissions",
                    error_data={"required_scopes": [SCOPES[name]]},
                    status_code=403,
                )
            return fn(info, **args)

        return resolve

    acct = {"id": account.key, "name": account.name, "slug": "ml-connector-demo", "tier": "pro"}

    def me(info):
        user = account.data.get("user") or boards.USER
        return {**user, "account_id": account.key, "kind": "admin", "account": acct, "is_deleted": False}

    def all_boards(info, ids=None, limit=25, page=1, **_):
        rows = boards.board_rows(account, ids)
        start = (max(page or 1, 1) - 1) * (limit or 25)
        return [board_json(ctx, r) for r in rows[start : start + (limit or 25)]]

    def items(info, ids=None, limit=25, **_):
        rows = boards.item_rows(account).filter(object_id__in=[str(i) for i in ids or []])[: limit or 25]
        cache = {}
        out = []
        for r in rows:
            bid = r.data["board_id"]
            cache.setdefault(bid, _board_row(ctx, bid).data)
            out.append(item_json(ctx, r, cache[bid]))
        return out

    def by_column_values(info, board_id, columns=None, cursor=None, limit=25, **_):
        if cursor:
            return _next(ctx, cursor, limit)
        row = _board_row(ctx, board_id)
        rules = [{"column_id": c["column_id"], "column_values": list(c["column_values"])} for c in columns or []]
        for rule in rules:
            boards.column(row.data, rule["column_id"], row.object_id)
        return _page(ctx, row, limit, {"columns": rules})

    def create_item(info, board_id, item_name, group_id=None, column_values=None, create_labels_if_missing=None, **_):
        values = _column_values(column_values)
        row = boards.create_item(account, board_id, item_name, group_id, values, bool(create_labels_if_missing))
        return item_json(ctx, row, _board_row(ctx, board_id).data)

    def change_multiple(info, board_id, column_values, item_id=None, create_labels_if_missing=None, **_):
        values = _column_values(column_values)
        row = boards.change_values(account, board_id, _item_id(item_id), values, bool(create_labels_if_missing))
        return item_json(ctx, row, _board_row(ctx, board_id).data)

    def change_simple(info, board_id, column_id, item_id=None, value=None, create_labels_if_missing=None, **_):
        labels = bool(create_labels_if_missing)
        row = boards.change_values(account, board_id, _item_id(item_id), {column_id: value}, labels, simple=True)
        return item_json(ctx, row, _board_row(ctx, board_id).data)

    def change_one(info, board_id, column_id, value, item_id=None, create_labels_if_missing=None, **_):
        parsed = _json_value(value)
        labels = bool(create_labels_if_missing)
        row = boards.change_values(account, board_id, _item_id(item_id), {column_id: parsed}, labels)
        return item_json(ctx, row, _board_row(ctx, board_id).data)

    fields = {
        "me": me,
        "boards": all_boards,
        "items": items,
        "next_items_page": lambda info, cursor, limit=25, **_: _next(ctx, cursor, limit),
        "items_page_by_column_values": by_column_values,
        "create_item": create_item,
        "change_multiple_column_values": change_multiple,
        "change_simple_column_value": change_simple,
        "change_column_value": change_one,
    }
    out: dict[str, Any] = {name: checked(name, fn) for name, fn in fields.items()}
    out["complexity"] = lambda info: ctx["charge"].as_field() if ctx.get("charge") else None
    # Query.account: the account of the token (any token may read it, as on monday).
    out["account"] = lambda info: acct
    return out


def _json_value(raw: Any) -> Any:
    """change_column_value's `value` is a JSON string of the single column's value."""
    if not isinstance(raw, str):
        raise MondayError("value must be a JSON string", "InvalidArgumentException", error_data={"argument": "value"})
    try:
        return json.loads(raw)
    except ValueError:
        raise MondayError("value is not valid JSON", "JsonParseException", error_data={"argument": "value"}) from None
