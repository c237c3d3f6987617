#!/usr/bin/env python3
"""Scripting ml-connector with nothing but its API (and Python's standard library).

Routes big invoices to Slack, shows what the rule would have posted, then replays the deliveries
that failed since yesterday, after counting them. Run it with:

    MLC=http://127.0.0.1:8000 TOKEN=mlc_… python3 docs/api/replay_failed.py

TOKEN is a personal API token of an admin (made on the API tokens page); a viewer's token gets 403
on every change. Every call goes to /api/v1/ (docs at $MLC/api/v1/docs/).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta


class Api:
    def __init__(self, base: str, token: str):
        if not base.startswith(("http://", "https://")):
            sys.exit(f"MLC must be an http(s) URL, not {base!r}")
        self.base, self.token = base.rstrip("/") + "/api/v1", token

    def call(self, method: str, path: str, body: dict | None = None, **headers: str):
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - http(s) only
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as refused:
            error = json.loads(refused.read())["error"]
            sys.exit(f"{method} {path}: {refused.code} {error['code']}: {error['message']} {error['fields'] or ''}")

    def pages(self, path: str):
        """Every row of a cursor-paged list."""
        url = path
        while url:
            page = self.call("GET", url)
            yield from page["results"]
            url = page["next"] and page["next"].split("/api/v1", 1)[1]


def main() -> None:
    api = Api(os.environ["MLC"], os.environ["TOKEN"])

    # 1. A routing rule: invoices of 5,000 or more go to #exec-alerts.
    channels = {c["name"]: c["id"] for c in api.call("GET", "/slack/channels/")}
    rule = api.call(
        "POST",
        "/slack/rules/",
        {
            "name": "Invoices of 5,000 or more",
            "event_types": ["invoice.create"],
            "comparison": "at_least",
            "threshold": "5000",
            "channel": channels["exec-alerts"],
        },
        **{"Idempotency-Key": "rule-big-invoices"},  # running the script twice makes one rule
    )
    print(f"rule {rule['id']}: {rule['description']}")

    # 2. What it would have posted, from the last 50 events.
    preview = api.call("GET", f"/slack/rules/{rule['id']}/preview/")
    print(f"preview: would post {preview['would_post']} of the last {len(preview['events'])} events")

    # 3. The deliveries that failed since yesterday.
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    failed = list(api.pages(f"/deliveries/?delivery=failed&since={since}"))
    for d in failed:
        print(f"failed: delivery {d['id']} to {d['provider']} ({d['event_type']}): {d['last_error']}")

    # 4. Replay them: count first, then replay exactly that many (409 if the count moved meanwhile).
    matching = {"delivery": "failed", "since": since}
    count = api.call("POST", "/deliveries/replay/", {**matching, "dry_run": True})["count"]
    if count:
        done = api.call("POST", "/deliveries/replay/", {**matching, "expected_count": count})
        print(f"replay: {done['summary']}")
    else:
        print("replay: nothing failed since yesterday")


if __name__ == "__main__":
    main()
