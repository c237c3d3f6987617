"""Redaction: what may be written to an audit row, a log line, an exception or a page.

Two layers. Structural: values under sensitive keys (headers, JSON, query strings) are replaced.
Textual: every secret ml-connector has decrypted in this process is remembered, and any text headed
for a log line or an audit message has those exact strings scrubbed, wherever they appear, plus the
well-known token shapes (Bearer values, Slack xox*, HubSpot pat-*).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"

# Keys whose values are secrets wherever they appear (JSON bodies, headers, form fields).
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "token",
        "verifier",
        "secret",
        "api_key",
        "apikey",
        "signing_secret",
        "webhook_secret",
        "private_key",
        "shortlivedtoken",
        "x-freshbooks-hmac-sha256",
        "webhook-signature",
        "x-slack-signature",
        "x-hubspot-signature",
        "x-hubspot-signature-v3",
    }
)
# In URLs an OAuth `code` and `state` are one-time secrets too (in JSON `code` is a currency).
SENSITIVE_QUERY_KEYS = SENSITIVE_KEYS | {"code", "state", "client_id_secret", "signature", "sig"}

_TOKEN_SHAPES = [
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bxoxe(?:\.xox[bp])?-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bpat-[a-z]{2}\d-[A-Za-z0-9-]{8,}"),
    re.compile(
        r"(?i)([\"']?(?:access_token|refresh_token|client_secret|verifier|password|api_key)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\"'&\s,}]{4,}"
    ),
]


class _SecretMemory:
    """Recently seen secret values in this process (bounded), for textual scrubbing."""

    def __init__(self, size: int = 2000):
        self._size = size
        self._values: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, value: Any) -> None:
        if not isinstance(value, str) or len(value) < 6:
            return
        with self._lock:
            self._values[value] = None
            self._values.move_to_end(value)
            while len(self._values) > self._size:
                self._values.popitem(last=False)

    def values(self) -> list[str]:
        with self._lock:
            return list(self._values)


_memory = _SecretMemory()


def remember_secret(value: Any) -> None:
    _memory.add(value)


def remember_secrets(mapping: Mapping[str, Any] | None) -> None:
    """Remember every string under a sensitive key (credentials dicts, token responses)."""
    if not mapping:
        return
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            remember_secrets(value)
        elif str(key).lower() in SENSITIVE_KEYS or str(key).lower().endswith(("_token", "_secret")):
            remember_secret(value)


def redact_text(text: Any) -> str:
    text = "" if text is None else str(text)
    for secret in _memory.values():
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _TOKEN_SHAPES:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def redact_mapping(value: Any, *, keys: frozenset[str] = SENSITIVE_KEYS) -> Any:
    if isinstance(value, Mapping):
        return {k: (REDACTED if str(k).lower() in keys else redact_mapping(v, keys=keys)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_mapping(v, keys=keys) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in SENSITIVE_KEYS else redact_text(v)) for k, v in (headers or {}).items()}


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode(
        [
            (k, REDACTED if k.lower() in SENSITIVE_QUERY_KEYS else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="[]",
    )
    return redact_text(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


class RedactingFilter(logging.Filter):
    """Scrubs every log record (message and arguments, and the traceback text) before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not drop the line
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info:
            import traceback

            record.exc_text = redact_text("".join(traceback.format_exception(*record.exc_info)))
            record.exc_info = None
        return True
