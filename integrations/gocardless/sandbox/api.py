"""The fake GoCardless Pro API, at /sandbox/gocardless/<environment>/ (settings.GOCARDLESS_API_URLS).

Every request: faults first (integrations.sandbox.faults), then `GoCardless-Version` (required),
the bearer token (a token of the other environment is refused like any unknown one, 401), the rate
limit (RateLimit-Limit / -Remaining / -Reset, the reset an HTTP date, on every answer; 429 with
rate_limit_exceeded past it). Bodies sit under the plural resource name both ways; lists are newest
first with `after` / `before` cursors; a repeated Idempotency-Key on a create answers 409
idempotent_creation_conflict naming the resource it created (vendors doc §2.4).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.gocardless.sandbox import scenario
from integrations.gocardless.sandbox.state import (
    API_VERSION,
    CURRENCIES,
    PROVIDER,
    RESOURCES,
    SCHEMES,
    ApiError,
    as_int,
    conflict,
    flush,
    get,
    invalid,
    invalid_state,
    now_iso,
    public,
    rows,
    save,
    today,
)
from integrations.sandbox import faults, ratelimit, tokens
from integrations.sandbox.http import bearer_token
from integrations.sandbox.models import SandboxAccount, SandboxObject, SandboxToken

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
UNAUTHORIZED = ApiError(
    401, "invalid_api_usage", "Unauthorized", [{"reason": "unauthorized", "message": "Unauthorized"}]
)
USABLE_MANDATE = ("pending_customer_approval", "pending_submission", "submitted", "active")
LIST_FILTERS = {
    "customers": (),
    "mandates": ("customer", "status", "scheme", "reference", "creditor"),
    "payments": ("mandate", "status", "currency", "creditor"),
    "payouts": ("status", "currency", "creditor"),
    "billing_requests": ("status", "customer"),
    "subscriptions": ("mandate", "customer", "status"),
    "events": ("resource_type", "action", "payment", "mandate", "payout", "billing_request", "customer"),
}


def _answer(data, status: int = 200, limits: ratelimit.Decision | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(data), status=status, content_type="application/json")
    if limits is not None:
        response["RateLimit-Limit"] = str(_limit()[0])
        response["RateLimit-Remaining"] = str(max(0, limits.remaining))
        response["RateLimit-Reset"] = format_datetime(datetime.fromtimestamp(limits.reset_at, UTC), usegmt=True)
    return response


def _limit() -> tuple[int, float]:
    limit = getattr(settings, "GOCARDLESS_SANDBOX_RATE_LIMIT", (1000, 60))
    return int(limit[0]), float(limit[1])


@csrf_exempt
def endpoint(request, environment: str, path: str) -> HttpResponse:
    live = tokens.find(PROVIDER, SandboxToken.Kind.ACCESS, bearer_token(request))
    injected = faults.inject(PROVIDER, request, live.account if live else None)
    if injected is not None:
        return injected
    if not request.headers.get("GoCardless-Version"):
        # UNCONFIRMED reason name; GoCardless requires the header on every request (trap 21).
        return _answer(
            ApiError(
                400,
                "invalid_api_usage",
                "GoCardless-Version header is required",
                [{"reason": "missing_version_header", "message": "GoCardless-Version header is required"}],
            ).body(),
            400,
        )
    if request.headers["GoCardless-Version"] != API_VERSION:
        return _answer(
            ApiError(
                400,
                "invalid_api_usage",
                "Version not found",
                [{"reason": "version_not_found", "message": "Version not found"}],
            ).body(),
            400,
        )
    live = tokens.find(PROVIDER, SandboxToken.Kind.ACCESS, bearer_token(request))
    if live is None or live.account is None or live.data.get("environment") != environment:
        return _answer(UNAUTHORIZED.body(), 401)
    account = live.account
    limit, seconds = _limit()
    decision = ratelimit.window(f"{PROVIDER}:{account.pk}", limit, seconds)
    if not decision.allowed:
        body = ApiError(
            429,
            "invalid_api_usage",
            "Rate limit exceeded",
            [{"reason": "rate_limit_exceeded", "message": "Rate limit exceeded"}],
        ).body()
        body["error"]["documentation_url"] = "https://developer.gocardless.com/api-reference#rate_limit_exceeded"
        return _answer(body, 429, decision)
    try:
        data, status = _route(request, account, [p for p in path.strip("/").split("/") if p])
    except ApiError as exc:
        return _answer(exc.body(), exc.status, decision)
    flush(account)
    # Faults queued for "gocardless-after" apply once the work is done and before the answer: a
    # DELAY there is the window in which a client's worker can die after GoCardless acted.
    after = faults.inject("gocardless-after", request)
    if after is not None:
        return after
    return _answer(data, status, decision)


def _route(request, account: SandboxAccount, parts: list[str]) -> tuple[dict, int]:
    if not parts or parts[0] not in RESOURCES:
        raise ApiError(
            404, "invalid_api_usage", "Not found", [{"reason": "path_not_found", "message": "Path not found"}]
        )
    resource, method = parts[0], request.method
    if len(parts) == 1 and method == "GET":
        return _list(request, account, resource), 200
    if len(parts) == 1 and method == "POST":
        return _create(request, account, resource), 201
    if len(parts) == 2 and method == "GET":
        return {resource: public(get(account, RESOURCES[resource], parts[1]).data)}, 200
    if len(parts) == 2 and method == "PUT":
        return _update(request, account, resource, parts[1]), 200
    if len(parts) == 4 and parts[2] == "actions" and method == "POST":
        return _action(account, resource, parts[1], parts[3]), 200
    raise ApiError(
        405,
        "invalid_api_usage",
        "Method not allowed",
        [{"reason": "method_not_allowed", "message": "Method not allowed"}],
    )


def _envelope(request, resource: str) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(
            400, "invalid_api_usage", "Invalid JSON", [{"reason": "invalid_json", "message": "The body is not JSON"}]
        ) from None
    inner = data.get(resource) if isinstance(data, dict) else None
    if not isinstance(inner, dict):
        raise ApiError(
            400,
            "invalid_api_usage",
            "Invalid document structure",
            [{"reason": "invalid_document_structure", "message": f'Put the request under "{resource}"'}],
        )
    return inner


# --- lists ----------------------------------------------------------------------------------------


def _list(request, account: SandboxAccount, resource: str) -> dict:
    kind = RESOURCES[resource]
    q = request.GET
    limit = as_int(q.get("limit")) if q.get("limit") else DEFAULT_LIMIT
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"must be between 1 and {MAX_LIMIT}", resource)
    items = [r for r in rows(account, kind).order_by("-id")]
    if resource == "payout_items":
        if not q.get("payout"):
            raise invalid("payout", "is required", resource)
        items = [r for r in items if r.data.get("_payout") == q["payout"]][::-1]  # oldest first, as listed per payout
    for name in LIST_FILTERS.get(resource, ()):
        wanted = q.getlist(name)
        if not wanted:
            continue
        values = {v for w in wanted for v in w.split(",")}
        items = [r for r in items if _field(r.data, name) in values]
    for op in ("gt", "gte", "lt", "lte"):
        bound = q.get(f"created_at[{op}]")
        if bound:
            items = [r for r in items if _compare(str(r.data.get("created_at") or ""), op, bound)]
    ids = [r.object_id for r in items]
    start, end = 0, len(items)
    if q.get("after"):
        if q["after"] not in ids:
            raise invalid("after", "is not a valid cursor", resource)
        start = ids.index(q["after"]) + 1
    if q.get("before"):
        if q["before"] not in ids:
            raise invalid("before", "is not a valid cursor", resource)
        end = ids.index(q["before"])
        start = max(start, end - limit) if not q.get("after") else start
    page = items[start : min(end, start + limit)]
    after = page[-1].object_id if page and start + len(page) < end else None
    before = page[0].object_id if page and start > 0 else None
    return {
        resource: [public(r.data) for r in page],
        "meta": {"cursors": {"before": before, "after": after}, "limit": limit},
    }


def _field(data: dict, name: str) -> str:
    if name in data and not isinstance(data[name], dict):
        return str(data[name])
    return str((data.get("links") or {}).get(name) or "")


def _compare(value: str, op: str, bound: str) -> bool:
    return {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[op]


# --- creates ----------------------------------------------------------------------------------------


def _create(request, account: SandboxAccount, resource: str) -> dict:
    creators = {
        "customers": _create_customer,
        "payments": _create_payment,
        "billing_requests": _create_billing_request,
        "billing_request_flows": _create_flow,
    }
    if resource not in creators:
        raise ApiError(
            405,
            "invalid_api_usage",
            "Method not allowed",
            [{"reason": "method_not_allowed", "message": f"Cannot create {resource} here"}],
        )
    fields = _envelope(request, resource)
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        return {resource: public(creators[resource](request, account, fields))}
    digest = __import__("hashlib").sha256(key.encode()).hexdigest()
    try:
        with transaction.atomic():
            marker = SandboxObject.objects.create(
                provider=PROVIDER, account=account, kind="idempotency", object_id=digest, data={"id": ""}
            )
            made = creators[resource](request, account, fields)
            marker.data = {"id": made["id"]}
            marker.save(update_fields=["data"])
    except IntegrityError:
        raise conflict(rows(account, "idempotency").get(object_id=digest).data["id"]) from None
    return {resource: public(made)}


def _metadata(fields: dict, resource: str) -> dict:
    meta = fields.get("metadata") or {}
    if not isinstance(meta, dict):
        raise invalid("metadata", "must be an object", resource)
    if len(meta) > 3:
        raise invalid("metadata", "can have at most 3 keys", resource)
    for k, v in meta.items():
        if len(str(k)) > 50:
            raise invalid("metadata", "keys must be at most 50 characters", resource)
        if not isinstance(v, str) or len(v) > 500:
            raise invalid("metadata", "values must be strings of at most 500 characters", resource)
    return meta


def _create_customer(request, account, fields: dict) -> dict:
    if not fields.get("email"):
        raise invalid("email", "is required", "customers")
    names = {k: str(fields.get(k) or "") for k in ("given_name", "family_name", "company_name")}
    return scenario.add_customer(account, email=str(fields["email"]), metadata=_metadata(fields, "customers"), **names)


def _create_payment(request, account, fields: dict) -> dict:
    amount = fields.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise invalid("amount", "must be a positive whole number of the currency's smallest unit", "payments")
    currency = fields.get("currency")
    if currency not in CURRENCIES:
        raise invalid("currency", f"must be one of {', '.join(sorted(CURRENCIES))}", "payments")
    mandate_id = (fields.get("links") or {}).get("mandate")
    if not mandate_id:
        raise invalid("links[mandate]", "is required", "payments")
    mandate = get(account, "mandate", str(mandate_id)).data
    if mandate["status"] not in USABLE_MANDATE:
        raise invalid_state("mandate_is_inactive", "The mandate is cancelled or has failed.")
    if SCHEMES[currency] != mandate["scheme"]:
        raise invalid("currency", f"must match the mandate's scheme ({mandate['scheme']})", "payments")
    charge_date = fields.get("charge_date") or mandate["next_possible_charge_date"]
    if not isinstance(charge_date, str) or len(charge_date) != 10:
        raise invalid("charge_date", "must be a date (YYYY-MM-DD)", "payments")
    if charge_date < mandate["next_possible_charge_date"]:
        raise invalid(
            "charge_date",
            f"must be on or after the mandate's next_possible_charge_date ({mandate['next_possible_charge_date']})",
            "payments",
        )
    row = save(
        account,
        "payment",
        {
            "created_at": now_iso(),
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "charge_date": charge_date,
            "description": str(fields.get("description") or ""),
            "reference": str(fields.get("reference") or ""),
            "metadata": _metadata(fields, "payments"),
            "retry_if_possible": bool(fields.get("retry_if_possible", False)),
            "scheme": mandate["scheme"],
            "status": "pending_submission",
            "links": {
                "mandate": mandate["id"],
                "creditor": mandate["links"].get("creditor"),
                "customer": mandate["links"].get("customer"),
            },
        },
    )
    from integrations.gocardless.sandbox.state import emit

    emit(
        account,
        "payments",
        "created",
        {"payment": row.object_id},
        cause="payment_created",
        description="Payment created via the API.",
        origin="api",
    )
    return row.data


def _create_billing_request(request, account, fields: dict) -> dict:
    mandate_request = fields.get("mandate_request")
    if not isinstance(mandate_request, dict) and not isinstance(fields.get("payment_request"), dict):
        raise invalid("mandate_request", "a mandate_request or a payment_request is required", "billing_requests")
    currency = (mandate_request or {}).get("currency") or "USD"
    if currency not in CURRENCIES:
        raise invalid("mandate_request[currency]", "is not supported", "billing_requests")
    links = {}
    if (fields.get("links") or {}).get("customer"):
        links["customer"] = get(account, "customer", fields["links"]["customer"]).object_id
    return save(
        account,
        "billing_request",
        {
            "created_at": now_iso(),
            "status": "pending",
            "mandate_request": {"currency": currency, "scheme": SCHEMES[currency]},
            "payment_request": fields.get("payment_request"),
            "metadata": _metadata(fields, "billing_requests"),
            "links": links,
        },
    ).data


def _create_flow(request, account, fields: dict) -> dict:
    request_id = (fields.get("links") or {}).get("billing_request")
    if not request_id:
        raise invalid("links[billing_request]", "is required", "billing_request_flows")
    get(account, "billing_request", request_id)
    row = save(
        account,
        "billing_request_flow",
        {
            "created_at": now_iso(),
            "expires_at": None,
            "redirect_uri": str(fields.get("redirect_uri") or ""),
            "exit_uri": str(fields.get("exit_uri") or ""),
            "prefilled_customer": fields.get("prefilled_customer") or {},
            "links": {"billing_request": request_id},
            "session_token": None,
        },
    )
    base = settings.MLCONNECTOR_SANDBOX_URL.rstrip("/")
    row.data["authorisation_url"] = f"{base}/gocardless/flow/{row.object_id}/"
    row.save(update_fields=["data"])
    return row.data


def _update(request, account, resource: str, object_id: str) -> dict:
    if resource not in ("customers", "payments", "mandates", "payouts"):
        raise ApiError(
            405,
            "invalid_api_usage",
            "Method not allowed",
            [{"reason": "method_not_allowed", "message": "Cannot update"}],
        )
    fields = _envelope(request, resource)
    row = get(account, RESOURCES[resource], object_id)
    if "metadata" in fields:
        row.data["metadata"] = _metadata(fields, resource)
    if resource == "customers":
        for k in ("email", "given_name", "family_name", "company_name"):
            if k in fields:
                row.data[k] = str(fields[k] or "")
    row.save(update_fields=["data", "updated_at"])
    return {resource: public(row.data)}


def _action(account, resource: str, object_id: str, verb: str) -> dict:
    if resource == "payments" and verb == "cancel":
        return {resource: public(scenario.cancel_payment(account, object_id))}
    if resource == "payments" and verb == "retry":
        return {resource: public(scenario.retry_payment(account, object_id))}
    if resource == "mandates" and verb == "cancel":
        row = get(account, "mandate", object_id)
        if row.data["status"] in ("cancelled", "failed", "expired"):
            raise invalid_state("mandate_already_cancelled", "The mandate is already cancelled.")
        row.data["status"] = "cancelled"
        row.save(update_fields=["data", "updated_at"])
        from integrations.gocardless.sandbox.state import emit

        emit(
            account,
            "mandates",
            "cancelled",
            {"mandate": object_id},
            cause="mandate_cancelled",
            description="Mandate cancelled via the API.",
            origin="api",
        )
        return {resource: public(row.data)}
    raise ApiError(
        404, "invalid_api_usage", "Not found", [{"reason": "path_not_found", "message": f"No action {verb}"}]
    )


__all__ = ["endpoint", "today"]
