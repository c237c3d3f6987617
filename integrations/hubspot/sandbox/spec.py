"""HubSpot's published OpenAPI files as the sandbox's referee: which paths exist, and whether a
request body (or, in the tests, a response body) has the shape HubSpot documents.

The files (../fixtures/vendor/, unmodified) are OpenAPI 3.0.1; their schemas are JSON Schema with
`#/components/schemas/...` references, validated here with jsonschema against the whole document.
Where a file marks a field `required` that HubSpot itself does not insist on (the official
`hubspot-api-client` omits it, and HubSpot's guides show calls without it), the requirement is
dropped, each listed in OPTIONAL_IN_PRACTICE with its reason.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

VENDOR = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"

OPTIONAL_IN_PRACTICE: dict[str, set[str]] = {
    # A create without associations is the guides' first example; the SDK leaves the key out.
    "SimplePublicObjectInputForCreate": {"associations"},
    "SimplePublicObjectBatchInputForCreate": {"associations"},
    # Search: only filterGroups or query is needed; the rest have defaults (limit 10, no sorts).
    "PublicObjectSearchRequest": {"after", "filterGroups", "limit", "properties", "sorts"},
    # batch/read: `propertiesWithHistory` and `archived` default to none / false.
    "BatchReadInputSimplePublicObjectId": {"propertiesWithHistory", "archived"},
}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    regex: re.Pattern
    operation_id: str
    document: str
    request_schema: dict | None
    responses: dict[str, dict | None]

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.fullmatch(path)
        return found.groupdict() if found else None


def _regex(template: str) -> re.Pattern:
    pattern = re.sub(r"\\\{(\w+)\\\}", lambda m: f"(?P<{m.group(1)}>[^/]+)", re.escape(template))
    return re.compile(pattern)


@lru_cache(maxsize=1)
def documents() -> dict[str, dict]:
    docs = {}
    for path in sorted(VENDOR.glob("*.json")):
        doc = json.loads(path.read_text())
        for name, fields in OPTIONAL_IN_PRACTICE.items():
            schema = doc.get("components", {}).get("schemas", {}).get(name)
            if schema and "required" in schema:
                schema["required"] = [f for f in schema["required"] if f not in fields]
        docs[path.name] = doc
    return docs


def _schema_of(content: dict | None) -> dict | None:
    if not content:
        return None
    return (content.get("application/json") or {}).get("schema")


@lru_cache(maxsize=1)
def operations() -> list[Operation]:
    ops = []
    for name, doc in documents().items():
        for template, methods in doc["paths"].items():
            for method, op in methods.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                responses = {}
                for code, resp in (op.get("responses") or {}).items():
                    responses[code] = _schema_of(resp.get("content"))
                ops.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        regex=_regex(template),
                        operation_id=op.get("operationId", ""),
                        document=name,
                        request_schema=_schema_of((op.get("requestBody") or {}).get("content")),
                        responses=responses,
                    )
                )
    # Literal segments beat parameters: /associations/default/... before /associations/{toObjectType}/...
    ops.sort(key=lambda o: (o.template.count("{"), -len(o.template)))
    return ops


def find(method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
    """The documented operation for a request: (operation, path parameters, path known for another method)."""
    known = False
    for op in operations():
        params = op.match(path)
        if params is None:
            continue
        if op.method == method:
            return op, params, True
        known = True
    return None, {}, known


@lru_cache(maxsize=256)
def _validator(document: str, schema_json: str) -> Draft7Validator:
    doc = documents()[document]
    schema = {**json.loads(schema_json), "components": copy.deepcopy(doc.get("components", {}))}
    return Draft7Validator(schema)


def problems(op: Operation, schema: dict | None, body: Any) -> list[str]:
    """What is wrong with `body` against `schema` (one of op's), as 'where: what' lines."""
    if schema is None:
        return []
    validator = _validator(op.document, json.dumps(schema, sort_keys=True))
    out = []
    for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))[:10]:
        where = ".".join(str(p) for p in error.absolute_path) or "body"
        out.append(f"{where}: {error.message}")
    return out


def request_problems(op: Operation, body: Any) -> list[str]:
    return problems(op, op.request_schema, body)


def response_problems(op: Operation, status: int, body: Any) -> list[str]:
    """For tests: does an answer match what the file documents for that status?"""
    schema = op.responses.get(str(status))
    if schema is None and str(status) not in op.responses:
        return [f"HTTP {status} is not documented for {op.operation_id}"]
    return problems(op, schema, body)
