"""How drf-spectacular describes what it cannot read by itself: the API token as a bearer scheme."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mlconnector.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (mlc_…), made on the API tokens page.",
        }


ERROR_SCHEMA = {
    "type": "object",
    "description": 'Every failure: `{"error": {"code", "message", "fields"}}`.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "e.g. invalid, not_found, permission_denied, rate_limited"},
                "message": {"type": "string", "description": "What went wrong, in words"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Field name -> what is wrong with it (empty when no field is at fault)",
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}
ERRORS = {
    "400": "The request is not valid (see fields)",
    "401": "No token, or a token that is unknown, revoked or expired",
    "403": "Not allowed: a viewer's token changes nothing, and CSRF applies to browser sessions",
    "404": "Not found in this tenant",
    "405": "Method not allowed",
    "406": "Only JSON is served",
    "409": "Conflicts with the current state (e.g. pausing a paused connection)",
    "415": "Send JSON",
    "422": "Idempotency-Key reused for another request",
    "429": "Rate limited: see Retry-After",
    "502": "The provider could not be reached or refused",
}
RATE_HEADERS = {
    name: {"schema": {"type": "integer"}, "description": text}
    for name, text in (
        ("RateLimit-Limit", "Calls allowed per window"),
        ("RateLimit-Remaining", "Calls left now"),
        ("RateLimit-Reset", "Seconds until the allowance is whole again"),
    )
}


# The database's integer ranges (which differ between SQLite and PostgreSQL) are not the API's promise:
# left in, the schema would depend on where it was generated.
DATABASE_RANGES = {32767, 2147483647, 9223372036854775807}


def _drop_database_ranges(node) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer" and node.get("maximum") in DATABASE_RANGES:
            node.pop("maximum")
            node.pop("format", None)
        if node.get("type") == "integer" and node.get("minimum") in {-m - 1 for m in DATABASE_RANGES}:
            node.pop("minimum")
        for value in node.values():
            _drop_database_ranges(value)
    elif isinstance(node, list):
        for value in node:
            _drop_database_ranges(value)


def add_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: the one error body on every operation, the rate-limit
    headers on its answers, and the Idempotency-Key header on every POST."""
    _drop_database_ranges(result.get("components", {}))
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for response in operation["responses"].values():
                response.setdefault("headers", {}).update(RATE_HEADERS)
            for status, text in ERRORS.items():
                operation["responses"].setdefault(status, {"description": text, "content": ref})
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": "Send the same key again to get the first answer again, not a second change",
                    }
                )
    return result


def drop_format_suffixes(endpoints):
    """drf-spectacular preprocessing hook: the `.json` twin of each route is the same operation, so it
    is left out of the schema (drf-spectacular leaves out the router's, not those of path() routes)."""
    return [endpoint for endpoint in endpoints if "{format}" not in endpoint[0]]
