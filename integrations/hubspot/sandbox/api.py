"""The HubSpot sandbox's REST API, at /sandbox/hubspot/api/ (settings.HUBSPOT_API_URL).

Every call: faults first (integrations.sandbox.faults, e.g. 423 or 477), then the OAuth token endpoint
(oauth/<version>/token, oauth.py) apart, then `Authorization: Bearer` (401 INVALID_AUTHENTICATION, or
EXPIRED_AUTHENTICATION for an OAuth access token past its 30 minutes), then the rate limits
(limits.py), then the path and body are checked against HubSpot's OpenAPI files (spec.py: an
undocumented path is a 404, a body of the wrong shape a 400), then the operation runs against the
portal's records (objects.py).

Batch semantics (vendors doc §2.3): at most 100 inputs; when every input carries its own
objectWriteTraceId, each input succeeds or fails on its own and a partial failure answers 207 with
`errors` and `numErrors`; otherwise the first failure fails the whole call and nothing is written.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.hubspot.sandbox import limits, spec
from integrations.hubspot.sandbox import objects as crm
from integrations.hubspot.sandbox.state import PROVIDER, HubSpotError, authenticate, require_scope, setting
from integrations.sandbox import faults
from integrations.sandbox.http import bearer_token, json_response

MAX_BATCH = 100
MAX_PAGE = 100
MAX_SEARCH_PAGE = 200
MAX_SEARCH_TOTAL = 10_000
OBJECTS = re.compile(r"/crm/(?:v3/objects|objects/2026-03)/(?P<type>[^/]+)(?:/(?P<rest>.+))?")
V4_BATCH = re.compile(r"/crm/v4/associations/(?P<from>[^/]+)/(?P<to>[^/]+)/batch/(?P<op>.+)")
V4_DEFAULT = re.compile(
    r"/crm/(?:v4/objects|objects/2026-03)/(?P<from>[^/]+)/(?P<fid>[^/]+)/associations/default/(?P<to>[^/]+)/(?P<tid>[^/]+)"
)
V4_ONE = re.compile(
    r"/crm/(?:v4/objects|objects/2026-03)/(?P<from>[^/]+)/(?P<fid>[^/]+)/associations/(?P<to>[^/]+)(?:/(?P<tid>[^/]+))?"
)
PROPS = re.compile(r"/crm/v3/properties/(?P<type>[^/]+)(?:/(?P<rest>.+))?")
# Endpoints HubSpot documents elsewhere than the stored specs (account info, properties).
LABELS = re.compile(r"/crm/v4/associations/(?P<from>[^/]+)/(?P<to>[^/]+)/labels")
UNSPECIFIED = (re.compile(r"/account-info/v3/details"), PROPS, LABELS)
TOKEN_PATH = re.compile(r"/oauth/(?P<version>[^/]+)/token")


def _now() -> str:
    return crm.now_iso()


def _batch_envelope(results: list, errors: list, requested_at: str) -> dict:
    body = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": requested_at,
        "startedAt": requested_at,
        "completedAt": _now(),
    }
    if errors:
        body.update(numErrors=len(errors), errors=errors)
    return body


@csrf_exempt
def api(request, path: str) -> HttpResponse:
    path = "/" + path.strip("/")
    from integrations.hubspot.sandbox.state import portal

    account = portal()
    fault = faults.inject(PROVIDER, request, account)
    if fault is not None:
        limits.count("faults")
        return fault
    oauth_token = TOKEN_PATH.fullmatch(path)
    if oauth_token:  # the public app's token endpoint, on the API host like HubSpot's
        from integrations.hubspot.sandbox import oauth

        return oauth.token(request, oauth_token.group("version"))
    headers: dict[str, str] = {}
    try:
        token = authenticate(bearer_token(request))
        account = token.account
        searching = request.method == "POST" and path.endswith("/search")
        if searching:
            limits.charge_search(account, token)
        else:
            headers = limits.charge(account, token)
        limits.count("calls")
        body = _body(request)
        op, _, known = spec.find(request.method, path)
        if op is None and not any(p.fullmatch(path) for p in UNSPECIFIED):
            if known:
                raise HubSpotError(405, f"{request.method} is not allowed on {path}", "VALIDATION_ERROR")
            raise HubSpotError(404, f"No route for {request.method} {path}", "OBJECT_NOT_FOUND")
        if op is not None and op.request_schema is not None:
            found = spec.request_problems(op, body)
            if found:
                limits.count("invalid_bodies")
                raise HubSpotError(400, "Invalid input JSON: " + "; ".join(found), "VALIDATION_ERROR")
        status, data = _route(request, account, token, path, body)
    except HubSpotError as error:
        limits.count("errors")
        response = error.response()
        for name, value in headers.items():
            if name not in response:
                response[name] = value
        return response
    if status == 204:
        response = HttpResponse(status=204)
    else:
        response = json_response(data, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _body(request):
    if request.method in ("GET", "DELETE") or not request.body:
        return None
    try:
        return json.loads(request.body, parse_float=Decimal)
    except ValueError as exc:
        raise HubSpotError(400, f"Invalid input JSON on line 1: {exc}", "VALIDATION_ERROR") from None


def _route(request, account, token, path: str, body):
    if path == "/account-info/v3/details":
        zone = ZoneInfo(setting(account, "time_zone"))
        offset = datetime.now(zone).utcoffset()
        return 200, {
            "portalId": int(account.key),
            "accountType": "STANDARD",
            "timeZone": setting(account, "time_zone"),
            "companyCurrency": setting(account, "currency"),
            "additionalCurrencies": [],
            "utcOffset": f"{'-' if offset.total_seconds() < 0 else '+'}"
            f"{abs(int(offset.total_seconds())) // 3600:02d}:00",
            "utcOffsetMilliseconds": int(offset.total_seconds() * 1000),
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }
    if m := PROPS.fullmatch(path):
        return _properties(request, account, token, crm.object_type(m["type"]), m["rest"] or "", body)
    if m := LABELS.fullmatch(path):  # the association types between two objects (Associations Schema v4)
        from_type, to_type = crm.object_type(m["from"]), crm.object_type(m["to"])
        type_id = crm.DEFAULT_ASSOCIATIONS.get((from_type.name, to_type.name))
        found = [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}] if type_id else []
        return 200, {"results": found}
    if m := V4_BATCH.fullmatch(path):
        return _v4_batch(account, token, crm.object_type(m["from"]), crm.object_type(m["to"]), m["op"], body)
    if m := V4_DEFAULT.fullmatch(path):
        from_type, to_type = crm.object_type(m["from"]), crm.object_type(m["to"])
        _assoc_write_allowed(account, token, from_type, to_type)
        result = _associate_one(account, from_type, m["fid"], to_type, m["tid"])
        return 200, _batch_envelope([result], [], _now())
    if m := V4_ONE.fullmatch(path):
        return _v4_one(
            request, account, token, crm.object_type(m["from"]), m["fid"], crm.object_type(m["to"]), m["tid"], body
        )
    if m := OBJECTS.fullmatch(path):
        return _objects(request, account, token, crm.object_type(m["type"]), m["rest"] or "", body)
    raise HubSpotError(404, f"No route for {request.method} {path}", "OBJECT_NOT_FOUND")


# --- properties -----------------------------------------------------------------------------------


def _properties(request, account, token, otype, rest: str, body):
    if rest == "groups":
        if request.method == "POST":
            require_scope(token, f"crm.schemas.{otype.scope}.write")
            return 201, crm.create_group(account, otype, body or {})
        return 200, {"results": list(crm.groups(account, otype).values())}
    if request.method == "POST" and not rest:
        require_scope(token, f"crm.schemas.{otype.scope}.write")
        return 201, crm.create_property(account, otype, body or {})
    if request.method == "POST" and rest == "batch/create":
        require_scope(token, f"crm.schemas.{otype.scope}.write")
        inputs = (body or {}).get("inputs") or []
        with transaction.atomic():
            made = [crm.create_property(account, otype, item) for item in inputs]
        return 201, _batch_envelope(made, [], _now())
    known = crm.properties(account, otype)
    if rest:
        if rest not in known:
            raise HubSpotError(404, f"Unable to find property {rest} on {otype.name}", "OBJECT_NOT_FOUND")
        return 200, crm.public_property(rest, known[rest], otype)
    return 200, {"results": [crm.public_property(n, d, otype) for n, d in known.items()]}


# --- objects -------------------------------------------------------------------------------------


def _wanted(request) -> list[str] | None:
    names = []
    for raw in request.GET.getlist("properties"):
        names += [n for n in raw.split(",") if n]
    return names or None


def _objects(request, account, token, otype, rest: str, body):
    require_scope(token, f"crm.objects.{otype.scope}.read")
    method = request.method
    if rest.startswith("batch/"):
        return _batch(account, token, otype, rest.removeprefix("batch/"), body or {})
    if rest == "search":
        return 200, _search(account, otype, body or {})
    if not rest:
        if method == "GET":
            return 200, _list(request, account, otype)
        crm.check_write_allowed(account, token, otype)
        row = crm.create(account, otype, (body or {}).get("properties") or {}, (body or {}).get("associations"))
        limits.count(f"writes_{otype.name}")
        return 201, crm.public(account, otype, row)
    object_id = crm.find_id(account, otype, rest, request.GET.get("idProperty"))
    row = crm.load(account, otype, object_id) if object_id else None
    if row is None:
        if method == "DELETE":
            return 204, None
        raise HubSpotError(404, f"Object not found. objectId are usually numeric. {rest}", "OBJECT_NOT_FOUND")
    if method == "GET":
        return 200, crm.public(account, otype, row, _wanted(request))
    crm.check_write_allowed(account, token, otype)
    limits.count(f"writes_{otype.name}")
    if method == "DELETE":
        crm.archive(account, otype, row)
        return 204, None
    row = crm.update(account, otype, row, (body or {}).get("properties") or {})
    return 200, crm.public(account, otype, row)


def _list(request, account, otype) -> dict:
    try:
        limit = int(request.GET.get("limit") or 10)
    except ValueError:
        raise HubSpotError(400, "limit must be a number") from None
    limit = max(1, min(limit, MAX_PAGE))
    after = request.GET.get("after") or "0"
    qs = crm.rows(account, otype).order_by("pk")
    if after.isdigit() and int(after):
        qs = qs.filter(pk__gt=int(after))
    page = list(qs[: limit + 1])
    results = [crm.public(account, otype, r, _wanted(request)) for r in page[:limit]]
    out: dict = {"results": results}
    if len(page) > limit:
        out["paging"] = {"next": {"after": str(page[limit - 1].pk), "link": f"?after={page[limit - 1].pk}"}}
    return out


def _multi_status(inputs: list) -> bool:
    traces = [i.get("objectWriteTraceId") for i in inputs if isinstance(i, dict)]
    return len(traces) == len(inputs) and all(traces) and len(set(traces)) == len(traces)


def _batch(account, token, otype, op: str, body: dict):
    inputs = body.get("inputs") or []
    if op not in ("read", "create", "update", "upsert", "archive"):
        raise HubSpotError(404, f"No batch operation {op}", "OBJECT_NOT_FOUND")
    if len(inputs) > MAX_BATCH:
        raise HubSpotError(
            400,
            f"Batch input size must be at most {MAX_BATCH}; got {len(inputs)}.",
            "VALIDATION_ERROR",
            context={"maxSize": [str(MAX_BATCH)]},
        )
    requested = _now()
    if op == "read":
        id_property = body.get("idProperty")
        wanted = body.get("properties") or None
        results, errors = [], []
        for item in inputs:
            found = crm.find_id(account, otype, str(item.get("id")), id_property)
            row = crm.load(account, otype, found) if found else None
            if row is None:
                errors.append(
                    HubSpotError(
                        404,
                        f"Could not get some {otype.name} objects, they may be deleted or not exist.",
                        "OBJECT_NOT_FOUND",
                        context={"ids": [str(item.get("id"))]},
                    ).standard()
                )
            else:
                results.append(crm.public(account, otype, row, wanted))
        return (207 if errors else 200), _batch_envelope(results, errors, requested)
    crm.check_write_allowed(account, token, otype)
    limits.count(f"writes_{otype.name}")
    limits.count(f"writes_{otype.name}_{op}")
    limits.count(f"inputs_{otype.name}", len(inputs))
    if op == "archive":
        for item in inputs:
            found = crm.find_id(account, otype, str(item.get("id")), None)
            row = crm.load(account, otype, found) if found else None
            if row is not None:
                crm.archive(account, otype, row)
        return 204, None
    multi = _multi_status(inputs)
    keys = [str(i.get("id")) for i in inputs if op in ("update", "upsert")]
    if len(set(keys)) != len(keys):
        raise HubSpotError(
            400,
            "Duplicate IDs found in batch input: " + ", ".join(sorted({k for k in keys if keys.count(k) > 1})),
            "VALIDATION_ERROR",
        )
    known = crm.properties(account, otype)
    results, errors = [], []
    with transaction.atomic():
        for item in inputs:
            trace = item.get("objectWriteTraceId")
            try:
                with transaction.atomic():
                    results.append(
                        _write_one(account, otype, op, item, known) | ({"objectWriteTraceId": trace} if trace else {})
                    )
            except HubSpotError as error:
                if not multi:
                    raise
                errors.append(error.standard(trace))
    if errors:
        return 207, _batch_envelope(results, errors, requested)
    return (201 if op == "create" else 200), _batch_envelope(results, [], requested)


def _write_one(account, otype, op: str, item: dict, known) -> dict:
    props = item.get("properties") or {}
    if op == "create":
        return crm.public(
            account, otype, crm.create(account, otype, props, item.get("associations"), known=known), light=True
        )
    id_property = item.get("idProperty")
    if op == "upsert" and (not id_property or not known.get(id_property, {}).get("unique")):
        raise HubSpotError(
            400, f"idProperty {id_property!r} is not a property with unique values on {otype.name}.", "VALIDATION_ERROR"
        )
    found = crm.find_id(account, otype, str(item.get("id")), id_property)
    row = crm.load(account, otype, found, lock=True) if found else None
    if row is None:
        if op == "update":
            raise HubSpotError(
                404, f"Object not found: {item.get('id')}", "OBJECT_NOT_FOUND", context={"ids": [str(item.get("id"))]}
            )
        return crm.public(
            account,
            otype,
            crm.create(account, otype, {**props, id_property: item["id"]}, known=known),
            light=True,
            new=True,
        )
    updated = crm.update(account, otype, row, props, known=known)
    return crm.public(account, otype, updated, light=True, **({"new": False} if op == "upsert" else {}))


def _search(account, otype, body: dict) -> dict:
    limit = int(body.get("limit") or 10)
    if limit > MAX_SEARCH_PAGE:
        raise HubSpotError(400, f"limit must be at most {MAX_SEARCH_PAGE}", "VALIDATION_ERROR")
    after = int(body.get("after") or 0)
    if after + limit > MAX_SEARCH_TOTAL:
        raise HubSpotError(
            400, f"Search results are capped at {MAX_SEARCH_TOTAL}; narrow the query.", "VALIDATION_ERROR"
        )
    groups = body.get("filterGroups") or []
    if (
        len(groups) > 5
        or sum(len(g.get("filters") or []) for g in groups) > 25
        or any(len(g.get("filters") or []) > 10 for g in groups)
    ):
        raise HubSpotError(
            400, "Too many filters: at most 5 filterGroups, 10 filters per group and 25 in all.", "VALIDATION_ERROR"
        )
    matches = []
    for row in crm.rows(account, otype).order_by("pk"):
        props = crm.computed(account, otype, row)
        if not groups or any(all(_test(f, props) for f in g.get("filters") or []) for g in groups):
            matches.append(row)
    page = matches[after : after + limit]
    out = {
        "total": len(matches),
        "results": [crm.public(account, otype, r, body.get("properties") or None) for r in page],
    }
    if after + limit < len(matches):
        out["paging"] = {"next": {"after": str(after + limit)}}
    return out


def _test(f: dict, props: dict) -> bool:
    value, op = props.get(f.get("propertyName")), f.get("operator")
    target = str(f.get("value") or "")
    if op == "HAS_PROPERTY":
        return value not in (None, "")
    if op == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if op == "IN":
        return str(value).lower() in [str(v).lower() for v in f.get("values") or []]
    if op == "NOT_IN":
        return str(value).lower() not in [str(v).lower() for v in f.get("values") or []]
    if op in ("EQ", "NEQ"):
        return (str(value or "").lower() == target.lower()) == (op == "EQ")
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return (target.lower().strip("*") in str(value or "").lower()) == (op == "CONTAINS_TOKEN")
    try:
        left, right = Decimal(str(value)), Decimal(target)
    except Exception:  # noqa: BLE001 - a non-number never matches a range
        return False
    return {"LT": left < right, "LTE": left <= right, "GT": left > right, "GTE": left >= right}.get(
        op, op == "BETWEEN" and right <= left <= Decimal(str(f.get("highValue")))
    )


# --- associations --------------------------------------------------------------------------------


def _assoc_write_allowed(account, token, from_type, to_type) -> None:
    for otype in (from_type, to_type):
        crm.check_write_allowed(account, token, otype)
    limits.count("writes_associations")


def _associate_one(account, from_type, from_id: str, to_type, to_id: str) -> dict:
    type_id = crm.associate(account, from_type, str(from_id), to_type, str(to_id))
    return {
        "from": {"id": str(from_id)},
        "to": {"id": str(to_id)},
        "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id},
    }


def _v4_batch(account, token, from_type, to_type, op: str, body):
    inputs = (body or {}).get("inputs") or []
    requested = _now()
    if op == "read":
        results = []
        for item in inputs:
            found = crm.associated(account, from_type, str(item.get("id")), to_type)
            tid = crm.DEFAULT_ASSOCIATIONS.get((from_type.name, to_type.name), 0)
            results.append(
                {
                    "from": {"id": str(item.get("id"))},
                    "to": [
                        {
                            "toObjectId": oid,
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": tid, "label": None}],
                        }
                        for _, oid in found
                    ],
                }
            )
        return 200, _batch_envelope(results, [], requested)
    if len(inputs) > MAX_BATCH:
        raise HubSpotError(400, f"Batch input size must be at most {MAX_BATCH}; got {len(inputs)}.", "VALIDATION_ERROR")
    _assoc_write_allowed(account, token, from_type, to_type)
    limits.count("inputs_associations", len(inputs))
    results, errors = [], []
    if op in ("archive", "labels/archive"):
        for item in inputs:
            fid = str((item.get("from") or {}).get("id"))
            for target in item.get("to") or [item.get("to") or {}]:
                tid = str(target.get("id"))
                for a, b, x, y in ((from_type, fid, to_type, tid), (to_type, tid, from_type, fid)):
                    crm.SandboxObject.objects.filter(
                        provider=PROVIDER, account=account, kind="assoc", object_id=crm._assoc_key(a, b, x, y)
                    ).delete()
        return 204, None
    for item in inputs:
        fid, tid = str((item.get("from") or {}).get("id")), str((item.get("to") or {}).get("id"))
        try:
            result = _associate_one(account, from_type, fid, to_type, tid)
        except HubSpotError as error:
            errors.append(error.standard() | {"context": {"fromId": [fid], "toId": [tid]}})
            continue
        if op == "create":
            results.append(
                {
                    "fromObjectTypeId": from_type.type_id,
                    "fromObjectId": fid,
                    "toObjectTypeId": to_type.type_id,
                    "toObjectId": tid,
                    "labels": [],
                }
            )
        else:
            results.append(result)
    if op == "create":
        return (207 if errors else 201), _batch_envelope(results, errors, requested)
    return 200, _batch_envelope(results, errors, requested)


def _v4_one(request, account, token, from_type, from_id: str, to_type, to_id: str | None, body):
    if request.method == "GET":
        require_scope(token, f"crm.objects.{from_type.scope}.read")
        tid = crm.DEFAULT_ASSOCIATIONS.get((from_type.name, to_type.name), 0)
        found = crm.associated(account, from_type, from_id, to_type)
        return 200, {
            "results": [
                {"toObjectId": oid, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": tid, "label": None}]}
                for _, oid in found
            ]
        }
    _assoc_write_allowed(account, token, from_type, to_type)
    if request.method == "DELETE":
        for a, b, x, y in ((from_type, from_id, to_type, to_id), (to_type, to_id, from_type, from_id)):
            crm.SandboxObject.objects.filter(
                provider=PROVIDER, account=account, kind="assoc", object_id=crm._assoc_key(a, b, x, y)
            ).delete()
        return 204, None
    for spec_item in body or []:
        crm.associate_by_type_id(account, from_type, from_id, str(to_id), int(spec_item.get("associationTypeId") or 0))
    return 201, {
        "fromObjectTypeId": from_type.type_id,
        "fromObjectId": from_id,
        "toObjectTypeId": to_type.type_id,
        "toObjectId": to_id,
        "labels": [],
    }


def midnight_utc_ms(day) -> str:
    return str(int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp() * 1000))
