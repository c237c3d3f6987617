"""What Slack checks before it posts: arguments against the vendor's JSON Schema, and Block Kit limits.

The method specs are Slack's own (slack-ruby/slack-api-ref, docs.slack.dev/methods/*.json), copied
into fixtures/vendor so neither code nor tests read ../shared. Error shapes follow Slack's: a failed
argument check is `invalid_arguments` with `response_metadata.messages`, a bad block is
`invalid_blocks` with `errors` (and the same in `response_metadata.messages`), each naming a
json-pointer. Limits: vendors doc §3.6 (50 blocks, section text 3,000, 10 fields of 2,000, header
150, ~13,000 characters of blocks is `msg_blocks_too_long`; the last one is observed, undocumented).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCKS_CHARS = 13_000
MAX_TEXT = 40_000  # longer text is truncated, not refused
BLOCK_TYPES = frozenset(
    "actions context divider file header image input markdown rich_text section table video".split()
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
JSON_ARGS = ("blocks", "attachments", "metadata")  # JSON strings in form bodies, JSON values in JSON bodies
BOOLEAN_TEXT = {"true": True, "1": True, "false": False, "0": False}


class SlackError(Exception):
    """An `ok: false` answer (HTTP 200): the error code plus any fields Slack adds to it."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> dict:
        return {"ok": False, "error": self.error, **self.extra}


@lru_cache
def method_spec(method: str) -> dict:
    return json.loads((VENDOR / f"{method}.json").read_text())


@lru_cache
def _validator(method: str):
    from jsonschema import Draft7Validator  # a dev dependency: imported only when a post is checked

    schema = dict(method_spec(method)["args"])
    # The token may arrive in the Authorization header instead; unknown arguments are refused.
    schema["required"] = [name for name in schema.get("required", []) if name != "token"]
    schema["additionalProperties"] = False
    return Draft7Validator(schema)


def check_arguments(method: str, params: dict[str, Any]) -> None:
    """Raise invalid_arguments when `params` break the method's published argument schema."""
    properties = method_spec(method)["args"].get("properties", {})
    candidate = {}
    for name, value in params.items():
        if properties.get(name, {}).get("type") == "boolean" and isinstance(value, str):
            value = BOOLEAN_TEXT.get(value.lower(), value)  # form bodies carry booleans as text
        elif name in JSON_ARGS and isinstance(value, list | dict):
            value = json.dumps(value)  # a JSON body's array is the form body's JSON string
        candidate[name] = value
    errors = sorted(_validator(method).iter_errors(candidate), key=lambda e: [str(p) for p in e.path])
    if errors:
        messages = [f"[ERROR] {_describe(e)}" for e in errors]
        raise SlackError("invalid_arguments", response_metadata={"messages": messages})


def _describe(error) -> str:
    """Messages name the field, never echo its value (it could be a token)."""
    where = "/".join(str(p) for p in error.path)
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in (error.instance or {})]
        return f"missing required field: {', '.join(missing)}"
    if error.validator == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        return f"unknown field: {', '.join(sorted(set(error.instance) - known))}"
    if error.validator == "type":
        return f"must be a {error.validator_value} [json-pointer:/{where}]"
    if error.validator == "anyOf":
        kinds = [s.get("type") for s in error.validator_value if s.get("type")]
        return f"must be one of: {', '.join(kinds)} [json-pointer:/{where}]"
    return f"is not valid ({error.validator}) [json-pointer:/{where}]"


def parse_blocks(value: Any) -> list | None:
    """`blocks` as sent: a JSON string (form bodies, or JSON bodies that chose to) or an array."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError("invalid_blocks_format") from None
    if not isinstance(value, list):
        raise SlackError("invalid_blocks_format")
    return value


def check_blocks(blocks: list) -> None:
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        problems += _block_problems(block, f"/blocks/{index}", seen_ids)
    if problems:
        raise SlackError("invalid_blocks", errors=problems, response_metadata={"messages": problems})
    if len(json.dumps(blocks, ensure_ascii=False, separators=(",", ":"))) > MAX_BLOCKS_CHARS:
        raise SlackError("msg_blocks_too_long")


def _block_problems(block: Any, at: str, seen_ids: set[str]) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"missing required field: type [json-pointer:{at}]"]
    kind = block["type"]
    if kind not in BLOCK_TYPES:
        return [f"unsupported block type [json-pointer:{at}/type]"]
    problems = []
    block_id = block.get("block_id")
    if block_id is not None:
        if not isinstance(block_id, str) or not 0 < len(block_id) <= 255:
            problems.append(f"must be a string of 1 to 255 characters [json-pointer:{at}/block_id]")
        elif block_id in seen_ids:
            problems.append(f"duplicate block_id [json-pointer:{at}/block_id]")
        else:
            seen_ids.add(block_id)
    if kind == "header":
        problems += _text_problems(block.get("text"), f"{at}/text", MAX_HEADER_TEXT, plain_only=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"must provide either text or fields [json-pointer:{at}]")
        if "text" in block:
            problems += _text_problems(block["text"], f"{at}/text", MAX_SECTION_TEXT)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not fields:
                problems.append(f"must be a non-empty array [json-pointer:{at}/fields]")
            else:
                if len(fields) > MAX_FIELDS:
                    problems.append(f"no more than {MAX_FIELDS} items allowed [json-pointer:{at}/fields]")
                for i, field in enumerate(fields):
                    problems += _text_problems(field, f"{at}/fields/{i}", MAX_FIELD_TEXT)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            problems.append(f"must be a non-empty array [json-pointer:{at}/elements]")
        else:
            if len(elements) > MAX_CONTEXT_ELEMENTS:
                problems.append(f"no more than {MAX_CONTEXT_ELEMENTS} items allowed [json-pointer:{at}/elements]")
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") == "image":
                    problems += _image_problems(element, f"{at}/elements/{i}")
                else:
                    problems += _text_problems(element, f"{at}/elements/{i}", MAX_SECTION_TEXT)
    elif kind == "image":
        problems += _image_problems(block, at)
    elif kind in ("actions", "rich_text") and not isinstance(block.get("elements"), list):
        problems.append(f"must be an array [json-pointer:{at}/elements]")
    return problems


def _text_problems(obj: Any, at: str, limit: int, plain_only: bool = False) -> list[str]:
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        return [f"must be a text object of type {' or '.join(sorted(allowed))} [json-pointer:{at}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}/text]"]
    return []


def _image_problems(obj: dict, at: str) -> list[str]:
    problems = []
    if not isinstance(obj.get("image_url"), str) and not isinstance(obj.get("slack_file"), dict):
        problems.append(f"missing required field: image_url [json-pointer:{at}]")
    if not isinstance(obj.get("alt_text"), str):
        problems.append(f"missing required field: alt_text [json-pointer:{at}]")
    return problems
