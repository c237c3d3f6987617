"""The Monday sandbox's GraphQL layer: monday's published SDL, validation and execution with graphql-core.

The schema is the vendor's own file (fixtures/vendor/schema-2026-10.graphql, a copy of monday's
`get_schema?format=sdl&version=2026-10`), so a document validates here exactly when graphql-core
accepts it against monday's schema. Every API-Version is served with this one schema (UNCONFIRMED
differences between versions, such as `settings` missing before 2025-10, are not emulated).

Errors follow the unified format (errors.py): parse errors carry monday's
"Parse error on …" message and code "GRAPHQL_PARSE_FAILED"; validation errors code
"GRAPHQL_VALIDATION_FAILED"; both come back with HTTP 200 and `data: null`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute,
    parse,
)
from graphql import (
    validate as graphql_validate,
)
from graphql.execution.values import get_variable_values

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "schema-2026-10.graphql"
SCHEMA_VERSION = "2026-10"
_VERSION = re.compile(r"^\d{4}-(01|04|07|10)$")
ROUTED_VERSIONS = {"2024-10": "2025-04", "2025-01": "2025-04"}  # deprecated, silently re-routed


@cache
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


def valid_version(version: str) -> bool:
    return version == "dev" or bool(_VERSION.match(version))


def served_version(version: str) -> str:
    return ROUTED_VERSIONS.get(version, version)


def _parse_error(error: GraphQLError) -> GraphQLError:
    """graphql-core says "Syntax Error: Expected Name, found <EOF>."; monday says "Parse error on …"."""
    detail = error.message.removeprefix("Syntax Error: ")
    return GraphQLError(
        f"Parse error on {detail}",
        nodes=None,
        source=error.source,
        positions=error.positions,
        extensions={"code": "GRAPHQL_PARSE_FAILED", "error_data": {}, "status_code": 200},
    )


def _validation_error(error: GraphQLError) -> GraphQLError:
    error.extensions = {"code": "GRAPHQL_VALIDATION_FAILED", "error_data": {}, "status_code": 200}
    return error


@dataclass
class Prepared:
    document: DocumentNode | None = None
    operation: OperationDefinitionNode | None = None
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    errors: list[GraphQLError] = field(default_factory=list)

    @property
    def is_mutation(self) -> bool:
        return self.operation is not None and self.operation.operation.value == "mutation"


def prepare(query: str, variables: dict | None = None, operation_name: str | None = None) -> Prepared:
    """Parse, validate against the SDL, pick the operation and coerce its variables."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return Prepared(errors=[_parse_error(error)])
    errors = graphql_validate(schema(), document)
    if errors:
        return Prepared(document=document, errors=[_validation_error(e) for e in errors])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if operation_name:
        chosen = [op for op in operations if op.name and op.name.value == operation_name]
        if not chosen:
            return Prepared(errors=[_validation_error(GraphQLError(f"Unknown operation named '{operation_name}'."))])
    elif len(operations) > 1:
        error = GraphQLError("Must provide operation name if query contains multiple operations.")
        return Prepared(errors=[_validation_error(error)])
    else:
        chosen = operations
    operation = chosen[0]
    coerced = get_variable_values(schema(), operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return Prepared(document=document, errors=[_validation_error(e) for e in coerced])
    return Prepared(document, operation, fragments, coerced)


def validate(document: str) -> list[str]:
    """Schema validation errors of a document (empty when monday's SDL accepts it)."""
    try:
        parsed = parse(document)
    except GraphQLError as error:
        return [_parse_error(error).message]
    return [e.message for e in graphql_validate(schema(), parsed)]


def run(prepared: Prepared, root: dict, context: dict, variables: dict | None) -> ExecutionResult:
    name = prepared.operation.name.value if prepared.operation and prepared.operation.name else None
    return execute(
        schema(),
        prepared.document,
        root_value=root,
        context_value=context,
        variable_values=variables or {},
        operation_name=name,
    )
