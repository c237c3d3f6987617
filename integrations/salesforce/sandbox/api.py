"""The fake Salesforce's wire: the client-credentials token endpoint on a My Domain host and the
REST API under /services/data/ (vendors doc §3 and Traps 22-28).

Every route starts with the org's host (`<host>/services/...`): ml-connector reaches the host
`https://<name>.my.salesforce.com` at `<sandbox>/salesforce/<name>.my.salesforce.com`, so one fake
serves many orgs and refuses login.salesforce.com / test.salesforce.com as Salesforce does.

Answers as Salesforce does: errors are JSON arrays of {message, errorCode, fields}; an unknown or
ended session is 401 INVALID_SESSION_ID; an exhausted daily allowance is 403 REQUEST_LIMIT_EXCEEDED
(never 429); every REST answer but the version list carries `Sforce-Limit-Info: api-usage=N/M`;
upsert by external id answers 201 (created), 200 with created:false (updated, v46.0+) or 204 (older
versions), 300 (several records match) or 404 (no such external-id field).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from decimal import Decimal
from urllib.parse import unquote

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.salesforce.sandbox import soql
from integrations.salesforce.sandbox import state as st
from integrations.sandbox import faults, tokens
from integrations.sandbox.http import bearer_token, body_params, client_credentials, json_body
from integrations.sandbox.models import SandboxToken

Err = st.SalesforceError
NOT_FOUND = ("NOT_FOUND", "The requested resource does not exist")


def _json(data, status: int = 200, headers: dict | None = None) -> HttpResponse:
    text = "" if data is None else json.dumps(data, default=lambda o: _decimal(o))
    response = HttpResponse(text, status=status, content_type="application/json;charset=UTF-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _decimal(o):
    if isinstance(o, Decimal):
        # A JSON number with the record's exact digits (json has no Decimal type of its own).
        return float(o) if o == o.to_integral_value() or abs(o) < Decimal("1e15") else str(o)
    raise TypeError(type(o).__name__)


def _error(exc: Err, headers: dict | None = None) -> HttpResponse:
    return _json(exc.body(), exc.status, headers)


# --- OAuth 2.0 client credentials ----------------------------------------------------------------


@csrf_exempt
def token(request, host: str) -> HttpResponse:
    host = host.lower()
    if request.method != "POST":
        return _json({"error": "invalid_request", "error_description": "must use HTTP POST"}, 400)
    params = body_params(request)
    if host in st.LOGIN_HOSTS:
        # Salesforce cannot tell which org is meant from its shared login hosts.
        return _json({"error": "invalid_grant", "error_description": "request not supported on this domain"}, 400)
    org = st.org_for(host)
    if org is None:
        return HttpResponse(
            f"No Salesforce org answers at {host} (the sandbox has no such My Domain).",
            status=404,
            content_type="text/plain",
        )
    if params.get("grant_type") != "client_credentials":
        return _json({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
    client_id, secret = client_credentials(request, params)
    if client_id not in org.data.get("consumer_keys", []):
        return _json({"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400)
    app = tokens.authenticate_app(st.PROVIDER, client_id, secret)
    if app is None:
        return _json({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
    if not org.data.get("run_as_user", True):
        return _json({"error": "invalid_grant", "error_description": "no client credentials user enabled"}, 400)
    raw = tokens.issue(
        st.PROVIDER,
        SandboxToken.Kind.ACCESS,
        account=org,
        app=app,
        ttl=int(org.data.get("session_seconds", 7200)),
        scopes="api",
        prefix=f"{org.data['org_id'][:15]}!",
    )
    issued_at = str(int(time.time() * 1000))  # a string, in milliseconds (Trap 28)
    signature = base64.b64encode(hashlib.sha256(f"{raw}{issued_at}".encode()).digest()).decode()
    return _json(
        {
            "access_token": raw,
            "signature": signature,
            "scope": "api",
            "instance_url": f"https://{host}",
            "id": f"https://{host}/id/{org.data['org_id']}/{org.data['user_id']}",
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )


# --- the REST API --------------------------------------------------------------------------------


def versions(request, host: str) -> HttpResponse:
    """GET /services/data/: the versions the org offers; needs no session and counts no call."""
    org = st.org_for(host)
    if org is None:
        return HttpResponse("No such My Domain", status=404, content_type="text/plain")
    offered = [v for v in st.VERSIONS if float(v) <= float(org.data["max_version"])]
    return _json([{"label": st.RELEASES.get(v, f"v{v}"), "url": f"/services/data/v{v}", "version": v} for v in offered])


def _api(handler):
    """Session, API access, the daily allowance and its header around every REST view."""

    @csrf_exempt
    def view(request, host: str, version: str, **kwargs):
        org = st.org_for(host)
        if org is None:
            return HttpResponse("No such My Domain", status=404, content_type="text/plain")
        fault = faults.inject(st.PROVIDER, request, org)
        if fault is not None:
            return fault
        if version not in st.VERSIONS or float(version) > float(org.data["max_version"]):
            return _error(Err(404, *NOT_FOUND))
        session = tokens.find(st.PROVIDER, SandboxToken.Kind.ACCESS, bearer_token(request))
        if session is None or session.account_id != org.pk:
            return _error(Err(401, "INVALID_SESSION_ID", "Session expired or invalid"))
        if not org.data.get("api_enabled", True):
            return _error(Err(403, "API_DISABLED_FOR_ORG", "The REST API is not enabled for this Organization."))
        try:
            used, limit = st.count_call(org)
        except Err as exc:
            used, limit = st.usage(org)
            return _error(exc, {"Sforce-Limit-Info": f"api-usage={used}/{limit}"})
        headers = {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}
        try:
            status, body = handler(request, org, version, **kwargs)
        except Err as exc:
            return _error(exc, headers)
        if status == 204:
            response = HttpResponse(status=204)
            response["Sforce-Limit-Info"] = headers["Sforce-Limit-Info"]
            return response
        return _json(body, status, headers)

    return view


def _sobject(org, name: str) -> str:
    if not st.has_object(org, name):  # Invoice without Order Management: as if it did not exist
        raise Err(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}' is not supported.")
    return name


@_api
def resources(request, org, version):
    base = f"/services/data/v{version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "search", "recent")
    return 200, {n: f"{base}/{n}" for n in names}


@_api
def limits(request, org, version):
    used, limit = st.usage(org)
    return 200, {
        "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        "DataStorageMB": {"Max": 5, "Remaining": 5},
    }


@_api
def global_describe(request, org, version):
    return 200, {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [
            {
                "name": n,
                "label": n,
                "keyPrefix": st.KEY_PREFIXES.get(n),
                "queryable": True,
                "createable": n in st.WRITABLE,
                "urls": {"sobject": f"/services/data/v{version}/sobjects/{n}"},
            }
            for n in st.STANDARD_FIELDS
            if st.has_object(org, n)
        ],
    }


@_api
def describe(request, org, version, sobject):
    return 200, st.describe(org, _sobject(org, sobject), version)


@_api
def collection(request, org, version, sobject):
    """POST creates one record; GET gives the object's basic information."""
    sobject = _sobject(org, sobject)
    if request.method == "GET":
        return 200, {"objectDescribe": {"name": sobject, "keyPrefix": st.KEY_PREFIXES.get(sobject)}, "recentItems": []}
    if request.method != "POST":
        raise Err(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are GET,POST")
    body = _body(request)
    if "Id" in body:
        raise Err(400, "INVALID_FIELD", "Unable to create/update fields: Id.", ["Id"])
    record = st.write(org, sobject, body)
    return 201, {"id": record.object_id, "success": True, "errors": []}


def _body(request) -> dict:
    body = json_body(request)
    if not isinstance(body, dict):
        raise Err(400, "JSON_PARSER_ERROR", "The request body is not a JSON object.")
    return body


@_api
def record(request, org, version, sobject, record_id):
    sobject = _sobject(org, sobject)
    found = st.by_id(org, sobject, record_id)
    if found is None:
        raise Err(404, *NOT_FOUND)
    if request.method == "GET":
        return 200, st.as_sobject(found, version)
    if request.method == "PATCH":
        st.write(org, sobject, _body(request), existing=found)
        return 204, None
    if request.method == "DELETE":
        st.delete_record(org, sobject, found.object_id)
        return 204, None
    raise Err(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are GET,PATCH,DELETE")


def _external_field(org, sobject: str, field: str) -> dict:
    spec = st.fields_of(org, sobject).get(field)
    if spec is None or not (spec["externalId"] or field == "Id"):
        raise Err(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field}")
    return spec


@_api
def by_external_id(request, org, version, sobject, field, value):
    """PATCH upserts by external id (the value from the URL, never from the body); GET reads."""
    sobject = _sobject(org, sobject)
    _external_field(org, sobject, field)
    value = unquote(value)
    matches = st.by_external_id(org, sobject, field, value)
    if request.method == "GET":
        if not matches:
            raise Err(404, *NOT_FOUND)
        if len(matches) > 1:
            return 300, [f"/services/data/v{version}/sobjects/{sobject}/{m.object_id}" for m in matches]
        return 200, st.as_sobject(matches[0], version)
    if request.method != "PATCH":
        raise Err(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed. Allowed are GET,PATCH")
    body = _body(request)
    for banned in ("Id", field):
        if banned in body:
            raise Err(
                400,
                "INVALID_FIELD",
                f"The field {banned} is in the request body; an upsert takes the external ID from the URL only.",
                [banned],
            )
    if len(matches) > 1:
        return 300, [f"/services/data/v{version}/sobjects/{sobject}/{m.object_id}" for m in matches]
    if matches:
        record = st.write(org, sobject, body, existing=matches[0])
        if float(version) < 46:
            return 204, None
        return 200, {"id": record.object_id, "success": True, "errors": [], "created": False}
    if request.GET.get("updateOnly") == "true":
        raise Err(404, *NOT_FOUND)
    record = st.write(org, sobject, body, set_fields={field: value})
    return 201, {"id": record.object_id, "success": True, "errors": [], "created": True}


# --- SOQL ------------------------------------------------------------------------------------------


def _batch_size(request, org) -> int:
    size = int(org.data.get("query_batch", 2000))
    option = request.headers.get("Sforce-Query-Options", "")
    if "batchSize=" in option:
        try:
            asked = int(option.split("batchSize=")[1].split(";")[0])
            size = min(size, max(200, min(2000, asked)))
        except ValueError:
            pass
    return size


def _page(org, version: str, text: str, offset: int, size: int) -> dict:
    query = soql.parse(text)
    if not st.has_object(org, query.sobject):
        raise Err(
            400,
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, be sure "
            "to append the '__c' after the entity name.",
        )
    sobject = query.sobject
    known = set(st.fields_of(org, sobject))
    rows = soql.run(query, st.query_rows(org, sobject), known)
    if query.count:
        return {"totalSize": len(rows), "done": True, "records": []}
    chunk = rows[offset : offset + size]
    out = {
        "totalSize": len(rows),
        "done": offset + size >= len(rows),
        "records": [
            {
                "attributes": {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{r['Id']}"},
                **st.as_json_values(org, sobject, {f: r.get(f) for f in query.fields}),
            }
            for r in chunk
        ],
    }
    if not out["done"]:
        locator = "01g" + hashlib.sha256(f"{org.key}:{text}".encode()).hexdigest()[:15]
        st.records(org, "_QueryLocator").update_or_create(
            provider=st.PROVIDER,
            account=org,
            kind="_QueryLocator",
            object_id=locator,
            defaults={"data": {"soql": text, "size": size}},
        )
        out["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + size}"
    return out


@_api
def query(request, org, version):
    text = request.GET.get("q", "")
    if not text:
        raise Err(400, "MALFORMED_QUERY", "A query string has to be specified")
    return 200, _page(org, version, text, 0, _batch_size(request, org))


@_api
def query_more(request, org, version, locator):
    name, _, offset = locator.rpartition("-")
    saved = st.records(org, "_QueryLocator").filter(object_id=name).first()
    if saved is None or not offset.isdigit():
        raise Err(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return 200, _page(org, version, saved.data["soql"], int(offset), saved.data["size"])


# --- sObject Collections (up to 200 records a call) --------------------------------------------


def _collection_records(request) -> tuple[list, bool]:
    body = _body(request)
    items = body.get("records")
    if not isinstance(items, list):
        raise Err(400, "JSON_PARSER_ERROR", "records is required")
    if len(items) > 200:
        raise Err(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
    return items, bool(body.get("allOrNone"))


def _failure(exc: Err) -> dict:
    return {"success": False, "errors": [{"statusCode": exc.code, "message": exc.message, "fields": exc.fields}]}


@_api
def composite_create(request, org, version):
    items, _ = _collection_records(request)
    results = []
    for item in items:
        sobject = ((item or {}).get("attributes") or {}).get("type", "")
        try:
            if "Id" in item:
                raise Err(400, "INVALID_FIELD", "Unable to create/update fields: Id.", ["Id"])
            created = st.write(org, _sobject(org, sobject), item)
            results.append({"id": created.object_id, "success": True, "errors": []})
        except Err as exc:
            results.append({"id": None, **_failure(exc)})
    return 200, results


@_api
def composite_upsert(request, org, version, sobject, field):
    """PATCH composite/sobjects/<type>/<field>: each record carries its external id in the body
    (the opposite of the single upsert, Trap 25); per-record failures still answer HTTP 200."""
    sobject = _sobject(org, sobject)
    _external_field(org, sobject, field)
    items, _ = _collection_records(request)
    results = []
    for item in items:
        item = dict(item or {})
        try:
            if (item.get("attributes") or {}).get("type") != sobject:
                raise Err(400, "INVALID_TYPE", f"Every record must be of type {sobject}")
            value = item.pop(field, None)
            if value in (None, ""):
                raise Err(400, "MISSING_ARGUMENT", f"{field} not specified", [field])
            matches = st.by_external_id(org, sobject, field, str(value))
            if len(matches) > 1:
                ids = ", ".join(m.object_id for m in matches)
                raise Err(300, "DUPLICATE_EXTERNAL_ID", f"{field} {value} matches multiple records: {ids}", [field])
            if matches:
                written = st.write(org, sobject, item, existing=matches[0])
                results.append({"id": written.object_id, "success": True, "errors": [], "created": False})
            else:
                written = st.write(org, sobject, item, set_fields={field: str(value)})
                results.append({"id": written.object_id, "success": True, "errors": [], "created": True})
        except Err as exc:
            results.append({"id": None, **_failure(exc), "created": False})
    return 200, results
