"""Column values of the Monday sandbox: parsing what a client writes, and what `value`/`text` read back.

Wire facts: ../shared/vendors/monday-hubspot-slack.md §1.4. A column value is stored as the JSON
object Monday itself returns in `column_values { value }` (a dict, or a plain string for text and
numbers); `text` is derived from it. Writes come from `column_values` (a JSON string of
{column_id: value}) or from change_simple_column_value (a plain string per column).

Choices where the vendor note is silent or UNCONFIRMED:
- Structured types (date, status, email, link, long_text, checkbox, dropdown) must be JSON objects
  inside `column_values`; a bare string there is a ColumnValueException (Monday's "simple string"
  form is accepted by change_simple_column_value only). Stricter than Monday may be, on purpose.
- ColumnValueException.error_data.column_type names the status column "color" (the name Monday
  reported for status columns even after its 2025 fix; clients must not rely on "status").
- `text` of an email is the address; of a link "<text> - <url>" (the UI's rendering).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.monday.sandbox.errors import MondayError

# Types the sandbox can hold values of; any other ColumnType is accepted on a column but its values
# are stored as given (JSON object) with an empty text.
SUPPORTED = ("name", "text", "numbers", "date", "status", "email", "link", "long_text", "checkbox", "dropdown")
ERROR_TYPE_NAMES = {"status": "color", "numbers": "numeric", "long_text": "long-text"}
STATUS_COLORS = ["#c4c4c4", "#579bfc", "#a25ddc", "#fdab3d", "#00c875", "#e2445c", "#037f4c", "#ff642e"]
# The SDL's typed ColumnValue implementations, for `... on StatusValue { label }` fragments.
TYPENAMES = {
    "text": "TextValue",
    "numbers": "NumbersValue",
    "date": "DateValue",
    "status": "StatusValue",
    "email": "EmailValue",
    "link": "LinkValue",
    "long_text": "LongTextValue",
    "checkbox": "CheckboxValue",
    "dropdown": "DropdownValue",
    "name": "TextValue",
}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def value_error(column: dict, raw: Any, message: str) -> MondayError:
    kind = column["type"]
    return MondayError(
        message,
        "ColumnValueException",
        error_data={
            "column_id": column["id"],
            "column_type": ERROR_TYPE_NAMES.get(kind, kind),
            "column_value": raw if isinstance(raw, str) else json.dumps(raw),
            "column_name": column["title"],
        },
    )


def status_labels(column: dict) -> dict[str, str]:
    """{index (as string): label}, as in Monday's status settings."""
    return column.setdefault("settings", {}).setdefault("labels", {})


def parse(column: dict, raw: Any, *, create_labels: bool = False) -> Any:
    """The stored value for what a client wrote in column_values; None clears. May add a status label."""
    if raw is None or raw == "" and column["type"] not in ("text", "name"):
        return None
    kind = column["type"]
    if kind in ("text", "name"):
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise value_error(column, raw, "Text columns take a plain string value")
        text = str(raw)
        if kind == "name" and not 1 <= len(text) <= 255:
            raise MondayError("Item name must be between 1 and 255 characters", "ItemNameTooLongException")
        return text
    if kind == "numbers":
        return _number(column, raw)
    if not isinstance(raw, dict):
        raise value_error(column, raw, f"Invalid value for a {kind} column: expected a JSON object")
    if kind == "date":
        return _date(column, raw)
    if kind == "status":
        return _status(column, raw, create_labels)
    if kind == "email":
        email = raw.get("email")
        if not isinstance(email, str) or not _EMAIL.match(email):
            raise value_error(column, raw, "Invalid email address")
        return {"email": email, "text": str(raw.get("text") or email), "changed_at": now_iso()}
    if kind == "link":
        url = raw.get("url")
        if not isinstance(url, str) or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://\S+$", url):
            raise value_error(column, raw, "Invalid link: url must be an absolute URL")
        return {"url": url, "text": str(raw.get("text") or url), "changed_at": now_iso()}
    if kind == "long_text":
        if not isinstance(raw.get("text"), str):
            raise value_error(column, raw, 'Long text columns take {"text": "..."}')
        return {"text": raw["text"], "changed_at": now_iso()}
    if kind == "checkbox":
        checked = str(raw.get("checked", "")).lower()
        if checked not in ("true", "false"):
            raise value_error(column, raw, 'Checkbox columns take {"checked": "true"}')
        return {"checked": "true", "changed_at": now_iso()} if checked == "true" else None
    if kind == "dropdown":
        return _dropdown(column, raw, create_labels)
    return raw


def parse_simple(column: dict, raw: str | None, *, create_labels: bool = False) -> Any:
    """change_simple_column_value: Monday's plain-string form of each type."""
    if raw is None or raw == "":
        return parse(column, None)
    kind = column["type"]
    if kind == "date":
        day, _, clock = raw.strip().partition(" ")
        return parse(column, {"date": day, **({"time": clock} if clock else {})})
    if kind == "status":
        return parse(column, {"label": raw}, create_labels=create_labels)
    if kind == "email":
        email, _, text = raw.strip().partition(" ")
        return parse(column, {"email": email, "text": text or email})
    if kind == "link":
        url, _, text = raw.strip().partition(" ")
        return parse(column, {"url": url, "text": text or url})
    if kind == "long_text":
        return parse(column, {"text": raw})
    if kind == "checkbox":
        return parse(column, {"checked": raw})
    if kind == "dropdown":
        return parse(column, {"labels": [s.strip() for s in raw.split(",") if s.strip()]}, create_labels=create_labels)
    return parse(column, raw, create_labels=create_labels)


def _number(column: dict, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise value_error(column, raw, "Numbers columns take a number or a numeric string")
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise value_error(column, raw, f"{raw!r} is not a number") from None
    if not number.is_finite():
        raise value_error(column, raw, f"{raw!r} is not a number")
    return str(raw).strip()


def _date(column: dict, raw: dict) -> dict:
    day, clock = raw.get("date"), raw.get("time")
    if not isinstance(day, str) or not _DAY.match(day):
        raise value_error(column, raw, 'Invalid date: use {"date": "YYYY-MM-DD"}')
    try:
        date.fromisoformat(day)
    except ValueError:
        raise value_error(column, raw, f"Invalid date {day!r}") from None
    out = {"date": day, "changed_at": now_iso()}
    if clock not in (None, ""):
        if not isinstance(clock, str) or not _TIME.match(clock):
            raise value_error(column, raw, 'Invalid time: use "HH:MM:SS" (UTC)')
        out["time"] = clock if len(clock) == 8 else clock + ":00"
    return out


def _status(column: dict, raw: dict, create_labels: bool) -> dict:
    labels = status_labels(column)
    if "index" in raw:
        index = str(raw["index"])
        if index not in labels:
            raise value_error(column, raw, f"Status index {index} does not exist in column {column['id']}")
    elif isinstance(raw.get("label"), str):
        wanted = raw["label"]
        index = next((i for i, label in labels.items() if label == wanted), None)
        if index is None:
            if not create_labels:
                raise value_error(
                    column,
                    raw,
                    f"This status label doesn't exist: label does not exist in column {column['id']} "
                    f"(possible labels: {', '.join(labels.values())})",
                )
            index = str(max((int(i) for i in labels), default=-1) + 1)
            labels[index] = wanted
            column["_changed"] = True
    else:
        raise value_error(column, raw, 'Status columns take {"label": "..."} or {"index": n}')
    return {"index": int(index), "post_id": None, "changed_at": now_iso()}


def _dropdown(column: dict, raw: dict, create_labels: bool) -> dict:
    options = column.setdefault("settings", {}).setdefault("labels", [])
    by_name = {o["name"]: o["id"] for o in options}
    if "ids" in raw and isinstance(raw["ids"], list):
        ids = [int(i) for i in raw["ids"] if str(i).isdigit()]
        if any(i not in by_name.values() for i in ids) or len(ids) != len(raw["ids"]):
            raise value_error(column, raw, "Dropdown label id does not exist")
        return {"ids": ids}
    names = raw.get("labels")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise value_error(column, raw, 'Dropdown columns take {"labels": [...]} or {"ids": [...]}')
    ids = []
    for name in names:
        if name not in by_name:
            if not create_labels:
                raise value_error(column, raw, f"The dropdown label {name!r} does not exist")
            by_name[name] = max((o["id"] for o in options), default=0) + 1
            options.append({"id": by_name[name], "name": name})
            column["_changed"] = True
        ids.append(by_name[name])
    return {"ids": ids}


def text_of(column: dict, value: Any) -> str:
    """Display text, "" when empty: what `column_values { text }` returns."""
    if value is None:
        return ""
    kind = column["type"]
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return str(value)
    if kind == "date":
        return f"{value['date']} {value['time'][:5]}" if value.get("time") else value.get("date", "")
    if kind == "status":
        return status_labels(column).get(str(value.get("index")), "")
    if kind == "email":
        return value.get("email", "")
    if kind == "link":
        return f"{value.get('text') or value.get('url')} - {value.get('url')}"
    if kind == "long_text":
        return value.get("text", "")
    if kind == "checkbox":
        return "v" if value.get("checked") == "true" else ""
    if kind == "dropdown":
        names = {o["id"]: o["name"] for o in column.get("settings", {}).get("labels", [])}
        return ", ".join(names.get(i, "") for i in value.get("ids", []))
    return ""


def typed_fields(column: dict, value: Any) -> dict:
    """Extra fields of the typed ColumnValue implementations (StatusValue.label, NumbersValue.number...)."""
    kind, text = column["type"], text_of(column, value)
    if kind == "numbers":
        return {"number": float(value) if value not in (None, "") else None, "symbol": "", "direction": None}
    if kind == "status":
        index = value.get("index") if isinstance(value, dict) else None
        return {"label": text or None, "index": index, "is_done": False, "update_id": None}
    if kind == "date":
        return {"date": value.get("date") if value else None, "time": value.get("time") if value else None}
    if kind == "email":
        return {"email": value.get("email") if value else None, "label": value.get("text") if value else None}
    if kind == "link":
        return {"url": value.get("url") if value else None, "url_text": value.get("text") if value else None}
    if kind == "checkbox":
        return {"checked": bool(value)}
    return {}


def convert(old: dict, new_type: str, value: Any, new_column: dict) -> Any:
    """A value after its column changed type: Monday keeps what it can read from the old text."""
    text = text_of(old, value)
    if not text:
        return None
    try:
        if new_type in ("text", "name"):
            return text
        if new_type == "long_text":
            return {"text": text, "changed_at": now_iso()}
        if new_type == "numbers":
            return _number(new_column, text)
        if new_type == "date":
            return _date(new_column, {"date": text[:10]})
        if new_type == "status":
            return _status(new_column, {"label": text}, create_labels=True)
    except MondayError:
        return None
    return None


def default_settings(kind: str, labels: list[str] | None = None) -> dict:
    if kind == "status":
        return {"labels": {str(i): label for i, label in enumerate(labels or [])}, "labels_colors": {}}
    if kind == "dropdown":
        return {"labels": [{"id": i, "name": label} for i, label in enumerate(labels or [], start=1)]}
    return {}
