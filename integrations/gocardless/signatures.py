"""GoCardless webhook signatures and bodies (vendors doc §2.6, trap 17).

`Webhook-Signature` is the lowercase hex HMAC-SHA256 of the raw request body, keyed with the
webhook endpoint's secret: checked on the exact bytes, before any JSON parsing, in constant time.
A body carries up to 250 events; each becomes one stored event, kept by its own bytes and its
event id, so a redelivery or a poll of the same event is stored only once. Not FreshBooks' scheme
(base64 over re-serialised form fields): the two never share a helper (trap 29).
"""

from __future__ import annotations

import hashlib
import hmac
import json

from mlconnector.contract import ONCE_PREFIX, BadSignature, MalformedWebhook, ParsedEvent

SIGNATURE_HEADER = "webhook-signature"
MAX_EVENTS = 250  # per webhook (UNCONFIRMED officially; a larger body is still taken)


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, signature: str) -> None:
    if not secret:
        raise BadSignature("no webhook endpoint secret is set for this connection")
    if not signature:
        raise BadSignature("missing Webhook-Signature header")
    if not hmac.compare_digest(sign(body, secret).encode(), signature.strip().encode("utf-8", "replace")):
        raise BadSignature("signature does not match")


def event_key(connection_id: int, event_id: str) -> str:
    """The once-for-ever dedupe key of a GoCardless event (its id is unique per environment)."""
    digest = hashlib.sha256(f"gocardless\x00{connection_id}\x00{event_id}".encode()).hexdigest()
    return ONCE_PREFIX + digest[: 64 - len(ONCE_PREFIX)]


def object_of(event: dict) -> str:
    """The id of the resource the event is about: links.<singular of resource_type>."""
    links = event.get("links") if isinstance(event.get("links"), dict) else {}
    singular = str(event.get("resource_type") or "").removesuffix("s")
    return str(links.get(singular) or next((v for v in links.values() if isinstance(v, str)), ""))


def parse_events(connection_id: int, body: bytes) -> list[ParsedEvent]:
    """The events of a verified body. One malformed event among good ones is kept as a
    "malformed" event (recorded, never acted on) so the others are not lost with it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MalformedWebhook("the body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise MalformedWebhook('the body has no "events" list')
    if not data["events"]:
        raise MalformedWebhook("the webhook carries no events")
    parsed = []
    for position, event in enumerate(data["events"]):
        parsed.append(parse_event(connection_id, event, position))
    return parsed


def parse_event(connection_id: int, event, position: int = 0) -> ParsedEvent:
    raw = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    ok = (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and event["id"]
        and isinstance(event.get("resource_type"), str)
        and isinstance(event.get("action"), str)
        and event["resource_type"]
        and event["action"]
        and isinstance(event.get("links", {}), dict)
    )
    if not ok:
        digest = hashlib.sha256(raw).hexdigest()
        return ParsedEvent(
            event_type="malformed",
            object_id=f"event {position + 1}",
            dedupe_key=ONCE_PREFIX + hashlib.sha256(f"{connection_id}\x00{digest}".encode()).hexdigest()[:59],
            raw=raw,
        )
    links = event.get("links") or {}
    return ParsedEvent(
        event_type=f"{event['resource_type']}.{event['action']}"[:64],
        object_id=object_of(event)[:64] or event["id"],
        account_id=str(links.get("organisation") or ""),
        dedupe_key=event_key(connection_id, event["id"]),
        fields={"event_id": event["id"], "cause": (event.get("details") or {}).get("cause", "")},
        raw=raw,
    )
