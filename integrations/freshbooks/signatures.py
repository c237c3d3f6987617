"""FreshBooks webhook bodies and their signatures.

FreshBooks POSTs form-encoded fields and signs them in an unusual way
(https://www.freshbooks.com/api/webhooks; the python SDK's docs/source/user_guide/webhooks.md):
X-FreshBooks-Hmac-SHA256 = base64(HMAC-SHA256(key=verifier, msg=json.dumps(fields))) where `fields`
is the form as a flat dict of strings in the order received, serialised with Python's default
json.dumps (", " and ": " separators, ensure_ascii). Not the raw body, not hex, not compact JSON.
The server-side field order is UNCONFIRMED, so the documented order is accepted too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl

from mlconnector.contract import MalformedWebhook

SIGNATURE_HEADER = "x-freshbooks-hmac-sha256"
DOCUMENTED_ORDER = ("name", "object_id", "account_id", "business_id", "identity_id", "user_id")
_NAME = re.compile(r"^[a-z_]+\.[A-Za-z_]+$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def parse_form(body: bytes) -> dict[str, str]:
    """The form fields in wire order (first value wins, as Flask's request.form does)."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedWebhook("body is not ASCII form data") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise MalformedWebhook("body is not form-encoded") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    name = fields.get("name", "")
    if not _NAME.match(name):
        raise MalformedWebhook("missing or invalid 'name'")
    if not _ID.match(fields.get("object_id", "")):
        raise MalformedWebhook("missing or invalid 'object_id'")
    return fields


def message(fields: dict[str, str], order: tuple[str, ...] | None = None) -> bytes:
    if order is not None:
        ordered = {k: fields[k] for k in order if k in fields}
        ordered.update({k: v for k, v in fields.items() if k not in ordered})
        fields = ordered
    return json.dumps({k: str(v) for k, v in fields.items()}).encode("utf-8")


def sign(fields: dict[str, str], verifier: str, order: tuple[str, ...] | None = None) -> str:
    digest = hmac.new(verifier.encode("utf-8"), message(fields, order), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def matches(fields: dict[str, str], verifier: str, signature: str) -> bool:
    if not verifier or not signature:
        return False
    offered = signature.strip().encode()
    # Wire order first; the documented order only if that fails (the order is no secret, and
    # each comparison is constant-time).
    return hmac.compare_digest(sign(fields, verifier).encode(), offered) or hmac.compare_digest(
        sign(fields, verifier, DOCUMENTED_ORDER).encode(), offered
    )
