"""How the Slack sandbox shows a message to a person: Block Kit and mrkdwn turned into plain data.

Nothing here produces HTML. mrkdwn becomes a list of segments (text, styles, an optional link) that
the template prints with auto-escaping, so a client called `<script>` shows as text, never markup.
Slack's own escapes (&amp; &lt; &gt;) are undone for display first, exactly once.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Slack only treats *, _ and ~ as formatting at word boundaries (so snake_case stays as it is).
_TOKEN = re.compile(
    r"<(?P<link>[^<>\n]+)>"
    r"|(?<![\w*])\*(?P<bold>[^*\n]+?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]+?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\n]+?)~(?![\w~])"
    r"|`(?P<code>[^`\n]+)`"
)
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def unescape(text: str) -> str:
    return _ENTITY.sub(lambda m: _ENTITIES[m[1]], text)


def _plain(text: str, styles: tuple[str, ...] = (), href: str = "") -> list[dict]:
    """Text with its line breaks as separate {"br": True} segments."""
    out: list[dict] = []
    for i, line in enumerate(text.split("\n")):
        if i:
            out.append({"br": True})
        if line:
            out.append({"text": line, "classes": " ".join(f"mrkdwn-{s}" for s in styles), "href": href})
    return out


def _link(inner: str, styles: tuple[str, ...]) -> list[dict]:
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123>: a user mention
        return _plain(f"@{label or target[1:]}", styles)
    if target.startswith("#"):  # <#C123|name>: a channel mention
        return _plain(f"#{unescape(label) or target[1:]}", styles)
    if target.startswith("!"):  # <!here>, <!channel>, <!date^...|fallback>
        return _plain(unescape(label) if label else f"@{target[1:]}", styles)
    href = unescape(target)
    shown = unescape(label) if label else href
    if not href.lower().startswith(SAFE_SCHEMES):
        return _plain(unescape(f"<{inner}>"), styles)
    return _plain(shown, styles, href)


def mrkdwn(text: str, styles: tuple[str, ...] = ()) -> list[dict]:
    """Slack mrkdwn as segments: *bold*, _italic_, ~strike~, `code`, <url|text> links, mentions."""
    out: list[dict] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        out += _plain(unescape(text[pos : m.start()]), styles)
        pos = m.end()
        if m["link"] is not None:
            out += _link(m["link"], styles)
        elif m["code"] is not None:
            out += _plain(unescape(m["code"]), (*styles, "code"))
        else:
            style = next(name for name in ("bold", "italic", "strike") if m[name] is not None)
            out += mrkdwn(m[style], (*styles, style))
    out += _plain(unescape(text[pos:]), styles)
    return out


def text_object(obj) -> list[dict]:
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return []
    return mrkdwn(obj["text"]) if obj.get("type") == "mrkdwn" else _plain(obj["text"])


def _rich_text(block: dict) -> list[dict]:
    out: list[dict] = []
    for section in block.get("elements") or []:
        for element in (section or {}).get("elements") or []:
            if element.get("type") == "link" and str(element.get("url", "")).lower().startswith(SAFE_SCHEMES):
                out += _plain(element.get("text") or element["url"], (), element["url"])
            elif isinstance(element.get("text"), str):
                out += _plain(element["text"])
        out.append({"br": True})
    return out[:-1]


def block(b: dict) -> dict:
    kind = b.get("type")
    if kind == "header":
        return {"kind": "header", "text": (b.get("text") or {}).get("text", "")}
    if kind == "section":
        return {
            "kind": "section",
            "text": text_object(b.get("text")),
            "fields": [text_object(f) for f in b.get("fields") or []],
        }
    if kind == "context":
        elements = [
            _plain(f"[{e.get('alt_text', 'image')}]") if e.get("type") == "image" else text_object(e)
            for e in b.get("elements") or []
        ]
        return {"kind": "context", "elements": elements}
    if kind == "divider":
        return {"kind": "divider"}
    if kind == "image":
        return {"kind": "context", "elements": [_plain(f"[image: {b.get('alt_text', '')}]")]}
    if kind == "markdown":
        return {"kind": "section", "text": _plain(str(b.get("text", ""))), "fields": []}
    if kind == "rich_text":
        return {"kind": "section", "text": _rich_text(b), "fields": []}
    return {"kind": "other", "type": str(kind)}


def when(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=UTC)


def message(m: dict) -> dict:
    """A stored message as the channel page shows it."""
    blocks = [block(b) for b in m.get("blocks") or [] if isinstance(b, dict)]
    return {"ts": m["ts"], "when": when(m["ts"]), "blocks": blocks, "text": mrkdwn(m.get("text") or ""), "raw": m}
