"""The Monday sandbox's Python API (re-exported by integrations.monday.sandbox) for tests, demo, benchmark.

board("Invoices")            -> {"id", "name", "columns": [{id,title,type,settings}], "groups": [{id,title}],
                                 "column_ids": {title: id}}
items("Invoices")            -> [{"id", "name", "group": {id,title},
                                  "values": {column_id: {"id","title","type","text","value"}},
                                  "by_title": {title: same dict}}]   (value: JSON string or None)
add_item(board, name, values=None, group_id=None) -> item id   (values as for column_values, a dict)
set_value(board, item_id, column_id, value)   a person's edit on Monday (value as for column_values)
add_boards(count) -> ids     more boards, to page through
delete_column(board, column_id); retype_column(board, column_id, new_type)
issue_personal_token(name="") -> raw token; set_complexity_budget(points | None); stats(); reset()
"""

from __future__ import annotations

import json
import uuid

from django.db import transaction

from integrations.monday.sandbox import boards as boards
from integrations.monday.sandbox import columns as columns
from integrations.monday.sandbox.complexity import reset_windows, set_budget
from integrations.monday.sandbox.errors import MondayError
from integrations.monday.sandbox.limits import reset_stats
from integrations.monday.sandbox.limits import stats as _stats
from integrations.sandbox import faults, tokens
from integrations.sandbox.models import SandboxAccount, SandboxApp, SandboxCounter, SandboxObject, SandboxToken

PROVIDER = boards.PROVIDER
# Monday personal API tokens are JWTs; the sandbox's only look like one.
PERSONAL_PREFIX = "eyJhbGciOiJIUzI1NiJ9.sandbox."
BOARD_BASE = 1_900_000_000  # ids of boards added by add_boards (the seeded ones are 18765432xx)


def _board_row(name_or_id):
    return boards.find_board(boards.ensure_account(), name_or_id)


def board(name_or_id) -> dict:
    row = _board_row(name_or_id)
    cols = [{k: c[k] for k in ("id", "title", "type", "settings")} for c in row.data["columns"]]
    return {
        "id": row.object_id,
        "name": row.data["name"],
        "columns": cols,
        "groups": [{"id": g["id"], "title": g["title"]} for g in row.data["groups"]],
        "column_ids": {c["title"]: c["id"] for c in cols},
    }


def items(name_or_id) -> list[dict]:
    row = _board_row(name_or_id)
    data = row.data
    out = []
    for item in boards.item_rows(row.account, row.object_id):
        values = {}
        for col in data["columns"]:
            if col["type"] == "name":
                continue
            value = item.data["values"].get(col["id"])
            values[col["id"]] = {
                "id": col["id"],
                "title": col["title"],
                "type": col["type"],
                "text": columns.text_of(col, value),
                "value": None if value is None else json.dumps(value),
            }
        grp = next((g for g in data["groups"] if g["id"] == item.data["group_id"]), {"id": "", "title": ""})
        out.append(
            {
                "id": item.object_id,
                "name": item.data["name"],
                "group": {"id": grp["id"], "title": grp["title"]},
                "values": values,
                "by_title": {v["title"]: v for v in values.values()},
            }
        )
    return out


def add_item(name_or_id, name: str, values: dict | None = None, group_id: str | None = None) -> str:
    row = _board_row(name_or_id)
    try:
        return boards.create_item(row.account, row.object_id, name, group_id, values or {}, True).object_id
    except MondayError as error:
        raise ValueError(error.message) from None


def set_value(name_or_id, item_id: str, column_id: str, value) -> None:
    """A person edits an item on Monday (e.g. sets its status to {"label": "Stuck"}); not through the
    API, so it counts against no token's budget."""
    row = _board_row(name_or_id)
    try:
        boards.change_values(row.account, row.object_id, str(item_id), {column_id: value})
    except MondayError as error:
        raise ValueError(error.message) from None


def add_boards(count: int, prefix: str = "Board") -> list[str]:
    """`count` more boards ("Board 001" …), each with a name and a text column: an account with
    many boards, to page through. Returns their ids."""
    account = boards.ensure_account()
    rows = SandboxObject.objects.bulk_create(
        [
            SandboxObject(
                provider=PROVIDER,
                account=account,
                kind="board",
                object_id=uuid.uuid4().hex,
                data={
                    "name": f"{prefix} {n:03d}",
                    "columns": [boards._col("name", "Name", "name"), boards._col("text", "Notes", "text")],
                    "groups": [{"id": "topics", "title": "Group Title", "color": "#579bfc"}],
                    "state": "active",
                },
            )
            for n in range(1, count + 1)
        ]
    )
    for row in SandboxObject.objects.filter(pk__in=[r.pk for r in rows]):
        row.object_id = str(BOARD_BASE + row.pk)
        row.save(update_fields=["object_id"])
    return [str(BOARD_BASE + r.pk) for r in rows]


@transaction.atomic
def delete_column(name_or_id, column_id: str) -> None:
    """Remove a column and its values, as a board owner would in the UI; later writes to it fail."""
    row = boards.board_row(_board_row(name_or_id).account, _board_row(name_or_id).object_id, lock=True)
    col = boards.column(row.data, column_id, row.object_id)
    if col["type"] == "name":
        raise ValueError("The name column cannot be deleted")
    row.data["columns"] = [c for c in row.data["columns"] if c["id"] != column_id]
    row.save(update_fields=["data", "updated_at"])
    for item in boards.item_rows(row.account, row.object_id).select_for_update():
        if item.data["values"].pop(column_id, None) is not None:
            item.save(update_fields=["data", "updated_at"])


@transaction.atomic
def retype_column(name_or_id, column_id: str, new_type: str) -> None:
    """Change a column's type; values readable in the new type are kept (from their text), others cleared."""
    from integrations.monday.sandbox.graphql import schema

    if new_type not in schema().type_map["ColumnType"].values or new_type == "name":
        raise ValueError(f"{new_type!r} is not a ColumnType a column can be changed to")
    found = _board_row(name_or_id)
    row = boards.board_row(found.account, found.object_id, lock=True)
    old = dict(boards.column(row.data, column_id, row.object_id))
    if old["type"] == "name":
        raise ValueError("The name column's type cannot change")
    new = {**old, "type": new_type, "settings": columns.default_settings(new_type)}
    for item in boards.item_rows(row.account, row.object_id).select_for_update():
        value = item.data["values"].pop(column_id, None)
        converted = columns.convert(old, new_type, value, new) if value is not None else None
        if converted is not None:
            item.data["values"][column_id] = converted
        if value is not None:
            item.save(update_fields=["data", "updated_at"])
    new.pop("_changed", None)
    row.data["columns"] = [new if c["id"] == column_id else c for c in row.data["columns"]]
    row.save(update_fields=["data", "updated_at"])


def issue_personal_token(name: str = "Personal API token") -> str:
    """A personal API token (no expiry; all of the user's permissions, combined complexity budget)."""
    account = boards.ensure_account()
    raw = tokens.issue(PROVIDER, SandboxToken.Kind.ACCESS, account=account, prefix=PERSONAL_PREFIX)
    SandboxToken.objects.filter(token_hash=tokens.hash_secret(raw)).update(
        data={"kind": "personal", "name": name, "last4": raw[-4:]}
    )
    return raw


def set_complexity_budget(points: int | None) -> None:
    """Per-token per-minute complexity budget, for every process (None: back to the setting)."""
    set_budget(points)


def stats() -> dict[str, int]:
    return _stats()


def reset() -> SandboxAccount:
    """Back to the seeded state: boards, no items, tokens, faults, counters or budget override."""
    SandboxObject.objects.filter(provider=PROVIDER).delete()
    SandboxToken.objects.filter(provider=PROVIDER).delete()
    SandboxAccount.objects.filter(provider=PROVIDER).delete()
    SandboxApp.objects.filter(provider=PROVIDER).delete()
    SandboxCounter.objects.filter(key__startswith="monday:").delete()
    faults.clear(PROVIDER)
    reset_windows()
    reset_stats()
    return boards.ensure_account()
