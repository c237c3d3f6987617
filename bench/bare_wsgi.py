"""The baseline for bench/ingest.py: a WSGI app that reads the body and answers 200 "ok", nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_BODY = b"ok"
_HEADERS = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(_BODY)))]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    # Read the body like the receiver does, so both servers pay for the same bytes off the socket.
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        environ["wsgi.input"].read(length)
    start_response("200 OK", _HEADERS)
    return [_BODY]
